"""The Kubernetes manifests in deploy/k8s/base (docs/deploy.md): valid against Kubernetes' own
schemas, and keeping the promises the deployment rests on: probes on /readyz and /healthz, one
beat only, nothing kept on a pod's disk, room for 100 MB case files at the Ingress, one image.

Pure file checks: no database, no Redis, no cluster (no kubectl either: kubernetes_validate
carries the schemas)."""

import ipaddress
import re
import shlex
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

BASE = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base"
KUSTOMIZATION = BASE / "kustomization.yaml"
SECRET_EXAMPLE = BASE / "secret.example.yaml"
IMAGE = "cadcam-masters"
IMAGE_REF = f"{IMAGE}:latest"
CONFIGMAP_NAME = "cadcam-config"
SECRET_NAME = "cadcam-secrets"

# The oldest Kubernetes the manifests must still apply to, and the newest schemas shipped.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.latest_version()]

SECRET_KEYS = {
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_CONNECT_WEBHOOK_SECRET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "EMAIL_HOST_PASSWORD",
    "SENTRY_DSN",
    "METRICS_TOKEN",
}
CONFIG_KEYS = {
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "SITE_DOMAIN",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_REGION_NAME",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_BIND",
    "DJANGO_LOG_FORMAT",
    "METRICS_ALLOWED_NETWORKS",
}
# Settings that would put files on the pod's own disk.
LOCAL_FILE_SETTINGS = {"DJANGO_MEDIA_ROOT", "DJANGO_PRIVATE_MEDIA_ROOT", "CADCAM_DATA_DIR", "DJANGO_SERVE_MEDIA"}
SCRATCH_MOUNT = "/tmp"
CASE_FILE_BYTES = 100 * 1024 * 1024


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Replaces the project-wide fixture that clears the Redis cache: nothing here uses it."""
    yield


def load_documents(path: Path) -> list[dict]:
    with path.open() as stream:
        return [document for document in yaml.safe_load_all(stream) if document is not None]


def kustomization() -> dict:
    return load_documents(KUSTOMIZATION)[0]


def manifest_files() -> list[Path]:
    return sorted(path for path in BASE.rglob("*") if path.suffix in {".yaml", ".yml"} and path != KUSTOMIZATION)


def listed_documents() -> list[dict]:
    """The documents kustomize builds from the base (its resources), in order."""
    return [document for name in kustomization()["resources"] for document in load_documents(BASE / name)]


def find(kind: str, name: str) -> dict:
    matches = [doc for doc in listed_documents() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_specs() -> list[tuple[str, dict]]:
    return [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
        for doc in listed_documents()
        if doc["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"}
    ]


def containers(pod_spec: dict) -> list[dict]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def container(deployment: str, name: str) -> dict:
    pod_spec = find("Deployment", deployment)["spec"]["template"]["spec"]
    (match,) = [c for c in pod_spec["containers"] if c["name"] == name]
    return match


def config_data() -> dict[str, str]:
    return find("ConfigMap", CONFIGMAP_NAME)["data"]


def nginx_size_bytes(value: str) -> int:
    """nginx's size syntax: a number, optionally k, m or g (powers of 1024)."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, f"not an nginx size: {value!r}"
    number, unit = match.groups()
    return int(number) * 1024 ** {"": 0, "k": 1, "m": 2, "g": 3}[unit.lower()]


ALL_DOCUMENTS = [
    pytest.param(document, id=f"{path.name}:{document.get('kind')}/{document.get('metadata', {}).get('name')}")
    for path in manifest_files()
    for document in load_documents(path)
]


def test_the_base_has_manifests():
    assert KUSTOMIZATION.is_file()
    assert SECRET_EXAMPLE.is_file()
    assert len(ALL_DOCUMENTS) >= 10


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("document", ALL_DOCUMENTS)
def test_every_manifest_is_valid_kubernetes(document, version):
    # strict: a misspelt or misplaced field fails instead of being silently ignored
    kubernetes_validate.validate(document, version, strict=True)


def test_kustomization_lists_every_manifest_except_the_example_secret():
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    for name in listed:
        assert (BASE / name).is_file(), f"kustomization.yaml lists {name}, which does not exist"
    files = {path.relative_to(BASE).as_posix() for path in manifest_files()}
    assert files - set(listed) == {SECRET_EXAMPLE.name}
    assert SECRET_EXAMPLE.name not in listed


def test_no_secret_is_applied_with_the_base():
    assert [doc for doc in listed_documents() if doc["kind"] == "Secret"] == []
    assert "secretGenerator" not in kustomization()


def test_example_secret_is_a_template_with_every_secret_and_placeholder_values():
    (secret,) = load_documents(SECRET_EXAMPLE)
    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == SECRET_NAME
    values = secret["stringData"]
    assert set(values) >= SECRET_KEYS
    for key, value in values.items():
        assert "REPLACE_ME" in value, f"{key} should hold a placeholder, not a real value"


def test_configmap_holds_the_settings_and_no_secret():
    data = config_data()
    assert set(data) >= CONFIG_KEYS
    assert not set(data) & SECRET_KEYS
    assert all(isinstance(value, str) for value in data.values())
    assert data["DJANGO_DEBUG"] == "false"
    assert data["DJANGO_LOG_FORMAT"] == "json"
    assert data["SITE_DOMAIN"] in data["DJANGO_ALLOWED_HOSTS"].split(",")


def test_metrics_are_open_to_no_cluster_network():
    """Requests through the Ingress arrive from the controller's pod address: allowing the pod
    network would open /metrics to the internet. Prometheus uses METRICS_TOKEN instead."""
    networks = [item.strip() for item in config_data()["METRICS_ALLOWED_NETWORKS"].split(",") if item.strip()]
    for network in networks:
        assert ipaddress.ip_network(network).is_loopback, network


def test_every_pod_reads_the_configmap_and_the_secret_and_runs_as_non_root():
    for where, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"].get("runAsUser", 1) != 0, where
        assert spec.get("serviceAccountName") == "cadcam-masters", where
        for c in containers(spec):
            sources = [(kind, ref["name"]) for source in c["envFrom"] for kind, ref in source.items()]
            assert sources == [("configMapRef", CONFIGMAP_NAME), ("secretRef", SECRET_NAME)], (where, c["name"])
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, (where, c["name"])
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][section]), (where, c["name"], section)


def test_one_image_everywhere_and_named_in_kustomization_images():
    images = {c["image"] for _, spec in pod_specs() for c in containers(spec)}
    assert images == {IMAGE_REF}
    entries = kustomization()["images"]
    assert [entry["name"] for entry in entries] == [IMAGE]


def test_commands():
    web = container("cadcam-web", "web")
    assert web["command"] == ["gunicorn", "cadcam.wsgi"]
    assert web["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert config_data()["GUNICORN_BIND"].endswith(":8000")

    worker = shlex.join(container("cadcam-worker", "worker")["command"])
    assert worker.startswith("celery -A cadcam worker --loglevel=INFO")
    beat = shlex.join(container("cadcam-beat", "beat")["command"])
    assert beat == "celery -A cadcam beat --loglevel=INFO"

    job = find("Job", "cadcam-migrate")["spec"]["template"]["spec"]
    steps = [shlex.join(c["command"]) for c in containers(job)]
    assert steps[0] == "python manage.py migrate --noinput"
    assert steps[1].startswith("python manage.py s3_setup")
    assert job["restartPolicy"] == "Never"


def test_web_probes_ask_readyz_and_healthz_with_an_allowed_host():
    web = container("cadcam-web", "web")
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    allowed_hosts = config_data()["DJANGO_ALLOWED_HOSTS"].split(",")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = web[probe]["httpGet"]
        assert get["port"] in ("http", 8000), probe
        headers = {header["name"]: header["value"] for header in get.get("httpHeaders", [])}
        # Django answers 400 to a Host outside ALLOWED_HOSTS, and the kubelet sends the pod IP.
        assert headers.get("Host") in allowed_hosts, probe
        # Without it the HTTPS redirect would answer the probe instead of the view.
        assert headers.get("X-Forwarded-Proto") == "https", probe


def test_exactly_one_beat_recreated_never_autoscaled():
    beat = find("Deployment", "cadcam-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    beats = [(where, c["name"]) for where, spec in pod_specs() for c in containers(spec)
             if c["command"][:4] == ["celery", "-A", "cadcam", "beat"]]
    assert beats == [("Deployment/cadcam-beat", "beat")]
    targets = [doc["spec"]["scaleTargetRef"]["name"] for doc in listed_documents()
               if doc["kind"] == "HorizontalPodAutoscaler"]
    assert "cadcam-beat" not in targets


def test_web_autoscales_on_cpu_and_the_deployment_leaves_replicas_to_it():
    hpa = find("HorizontalPodAutoscaler", "cadcam-web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cadcam-web"}
    assert hpa["spec"]["minReplicas"] >= 2
    assert [(m["type"], m["resource"]["name"]) for m in hpa["spec"]["metrics"]] == [("Resource", "cpu")]
    # A replicas field would be put back on every `kubectl apply`, fighting the autoscaler.
    assert "replicas" not in find("Deployment", "cadcam-web")["spec"]
    # CPU utilisation is measured against the request.
    assert "cpu" in container("cadcam-web", "web")["resources"]["requests"]


def test_nothing_lives_on_a_pods_disk():
    kinds = {doc["kind"] for doc in listed_documents()}
    assert not kinds & {"PersistentVolumeClaim", "PersistentVolume", "StatefulSet", "StorageClass"}
    for where, spec in pod_specs():
        for volume in spec.get("volumes", []):
            assert "hostPath" not in volume, (where, volume["name"])
            assert "persistentVolumeClaim" not in volume, (where, volume["name"])
            assert set(volume) <= {"name", "emptyDir"}, (where, volume["name"])
        scratch = {volume["name"] for volume in spec.get("volumes", []) if "emptyDir" in volume}
        for c in containers(spec):
            for mount in c.get("volumeMounts", []):
                if mount["name"] in scratch:
                    # scratch space for temporary files only, never for media
                    assert mount["mountPath"] == SCRATCH_MOUNT, (where, c["name"], mount)
            assert not {env["name"] for env in c.get("env", [])} & LOCAL_FILE_SETTINGS, (where, c["name"])
    data = config_data()
    assert data["AWS_STORAGE_BUCKET_NAME"], "without a bucket files would go to the pod's disk"
    assert not set(data) & LOCAL_FILE_SETTINGS


def test_service_and_ingress_reach_the_web_pods():
    pod_labels = find("Deployment", "cadcam-web")["spec"]["template"]["metadata"]["labels"]
    service = find("Service", "cadcam-web")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in ("http", 8000)

    ingress = find("Ingress", "cadcam-web")
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends == [{"name": "cadcam-web", "port": {"name": port["name"]}}]
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= set(config_data()["DJANGO_ALLOWED_HOSTS"].split(","))


def test_ingress_takes_a_100_mb_case_file_and_waits_for_gunicorn():
    annotations = find("Ingress", "cadcam-web")["metadata"]["annotations"]
    body = nginx_size_bytes(annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
    assert body >= CASE_FILE_BYTES + 10 * 1024 * 1024  # the file, and the form around it
    gunicorn_timeout = int(config_data()["GUNICORN_TIMEOUT"])
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{name}"]) > gunicorn_timeout, name


def test_selectors_match_their_pods():
    deployments = [doc for doc in listed_documents() if doc["kind"] == "Deployment"]
    for deployment in deployments:
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for budget in (doc for doc in listed_documents() if doc["kind"] == "PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= d["spec"]["template"]["metadata"]["labels"].items() for d in deployments)
