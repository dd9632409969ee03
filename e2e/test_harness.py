import pytest

from e2e import conftest


def test_missing_chromium_fails_with_install_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "no-such-chromium"))
    monkeypatch.setattr(conftest, "SYSTEM_CHROMIUM", str(tmp_path / "also-missing"))
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)

    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        conftest.chromium_path()


def test_chromium_path_prefers_the_environment_variable(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CHROMIUM_PATH", str(fake))

    assert conftest.chromium_path() == str(fake)
