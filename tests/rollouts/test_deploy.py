"""The deploy files are valid: compose against the Compose spec, Kubernetes manifests against their JSON schemas."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.30.0"
COMPOSE_SERVICES = {"web", "worker", "postgres", "redis", "ray-head", "ray-worker"}


def docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


def test_compose_file_validates_and_has_every_service():
    text = (DEPLOY / "docker-compose.yml").read_text()
    if docker_compose_available():
        done = subprocess.run(["docker", "compose", "-f", str(DEPLOY / "docker-compose.yml"), "config", "--quiet"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    # Always also through the Compose spec's own parser (a strict one: unknown keys and bad values are errors).
    from compose_spec import PyOptions

    compose = PyOptions(apply_merge=True).from_yaml(text)
    compose.validate()
    assert COMPOSE_SERVICES <= set(compose.service_names())
    services = yaml.safe_load(text)["services"]
    assert "--appendonly" in services["redis"]["command"]  # a Redis restart keeps the queues


def test_compose_validation_rejects_a_broken_file():
    from compose_spec import PyCompose

    with pytest.raises(ValueError):
        PyCompose.from_yaml("services:\n  web:\n    image: x\n    depends_on: {db: {condition: sometimes}}\n")


def kustomize_resources() -> list[Path]:
    base = DEPLOY / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    return [base / name for name in kustomization["resources"]]


def test_every_kustomize_resource_exists_and_validates_against_the_kubernetes_schema():
    import kubernetes_validate

    resources = kustomize_resources()
    kinds = set()
    for path in resources:
        assert path.exists(), path
        for document in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(document, K8S_VERSION, strict=True)
            kinds.add(document["kind"])
    assert {"Deployment", "Service", "ConfigMap", "Job"} <= kinds
    loose = set((DEPLOY / "k8s" / "base").glob("*.yaml")) - set(resources) - {DEPLOY / "k8s" / "base" / "kustomization.yaml"}
    assert not loose, f"manifests not listed in kustomization.yaml: {loose}"


def test_the_schema_check_catches_a_mistake():
    import kubernetes_validate

    deployment = yaml.safe_load((DEPLOY / "k8s" / "base" / "web-deployment.yaml").read_text())
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_web_probes_use_the_health_endpoints():
    deployment = yaml.safe_load((DEPLOY / "k8s" / "base" / "web-deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_raycluster_pod_templates_validate_and_its_own_fields_are_complete():
    """No PyPI package ships KubeRay's CRD schema: its pod templates are checked against the core schema (most of
    its content), its own fields by shape."""
    import kubernetes_validate

    cluster = yaml.safe_load((DEPLOY / "k8s" / "ray" / "raycluster.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    spec = cluster["spec"]
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for group in groups:
        template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"},
                    "template": group["template"]}
        kubernetes_validate.validate(template, K8S_VERSION, strict=True)
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())  # KubeRay wants strings
    for worker in spec["workerGroupSpecs"]:
        assert worker["groupName"] and 0 <= worker["minReplicas"] <= worker["replicas"] <= worker["maxReplicas"]
    import ray

    assert spec["rayVersion"] == ray.__version__  # drivers and the cluster must run the same Ray
    gpu = next(w for w in spec["workerGroupSpecs"] if w["groupName"] == "gpu")
    assert gpu["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_the_dockerfiles_install_the_pinned_torch_and_the_gpu_one_starts_from_a_cuda_torch_base():
    cpu = (DEPLOY / "Dockerfile").read_text()
    gpu = (DEPLOY / "Dockerfile.gpu").read_text()
    assert "torch==2.13.0" in cpu and "COPY platform ./platform" in cpu  # platform/ holds the rollouts app
    assert "ARG TORCH_BASE=pytorch/pytorch:" in gpu and "cuda" in gpu
