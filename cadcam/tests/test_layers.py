"""The apps stand in layers (pyproject.toml, [tool.importlinter]): these tests run the same
contracts as `make lint`, so CI fails on an import that points upward."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(project / "pyproject.toml")],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(project)},
    )


def copy_of_the_project(tmp_path: Path) -> Path:
    """The Python files and pyproject.toml, enough for import-linter's static import graph."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for package in config["root_packages"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_apps_keep_their_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    project = copy_of_the_project(tmp_path)
    services = project / "accounts" / "services.py"
    services.write_text("from orders.models import Order  # an upward import\n" + services.read_text())

    result = lint_imports(project)

    assert result.returncode == 1
    assert "accounts is not allowed to import orders" in result.stdout
    assert "accounts.services -> orders.models" in result.stdout


def test_apps_on_the_same_floor_may_not_import_each_other(tmp_path):
    project = copy_of_the_project(tmp_path)
    selectors = project / "reviews" / "selectors.py"
    selectors.write_text("from payouts.models import Payout\n" + selectors.read_text())

    result = lint_imports(project)

    assert result.returncode == 1
    assert "reviews is not allowed to import payouts" in result.stdout
