"""The deploy files are valid: compose against the Compose spec, Kubernetes manifests against their JSON schemas."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.urls import url_of

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
    base = DEPLOY / "k8s" / "base"
    loose = set(base.glob("*.yaml")) - set(resources) - {base / "kustomization.yaml"}
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
    assert container["livenessProbe"]["httpGet"]["path"] == url_of("healthz")
    assert container["readinessProbe"]["httpGet"]["path"] == url_of("readyz")


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


def test_the_dockerfiles_install_the_pinned_torch_and_the_gpu_one_gets_the_cuda_build_on_the_same_python():
    cpu = (DEPLOY / "Dockerfile").read_text()
    gpu = (DEPLOY / "Dockerfile.gpu").read_text()
    assert "torch==2.13.0" in cpu and "COPY platform ./platform" in cpu  # platform/ holds the rollouts app
    # The CPU image takes the CPU wheel by default (docker build and compose alike); the GPU one PyPI's CUDA build,
    # on the CPU image's base: Ray refuses nodes whose Python differs from the head's.
    assert "ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" in cpu
    assert "pip install torch==2.13.0" in gpu and "extra-index-url" not in gpu
    assert _from(cpu) == _from(gpu) == "python:3.11-slim-bookworm"


def _from(dockerfile: str) -> str:
    return next(line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM "))


def _instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", dockerfile)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_images_install_only_the_dependencies_run_as_a_non_root_user_and_check_their_health(name):
    steps = _instructions((DEPLOY / name).read_text())
    text = "\n".join(steps)
    # The project is never pip-installed: nothing to uninstall, no stub packages, build folder or egg-info left.
    assert "pip install ." not in text and "uninstall" not in text and "touch " not in text
    assert "tomllib" in text and "['project']['dependencies']" in text
    assert any(s.startswith("USER app") for s in steps) and "--uid 10001" in text
    assert any(s.startswith("HEALTHCHECK ") for s in steps)
    # Nothing reads HEADSHOTS_MODEL_STORE; the store's path comes from the driver's MODEL_STORE.
    assert "HEADSHOTS_MODEL_STORE" not in text


def test_the_app_image_owns_the_media_folder_and_collects_static_files_at_build_time():
    steps = _instructions((DEPLOY / "Dockerfile").read_text())
    text = "\n".join(steps)
    # A named volume mounted on /data/media starts with the image's ownership: the app user can write selfies.
    assert "mkdir -p /data/media" in text and "chown -R app:app /data" in text
    assert "MEDIA_ROOT=/data/media" in text and "HEADSHOTS_DATA_DIR=/data" in text
    collect = next(i for i, s in enumerate(steps) if "collectstatic" in s)
    user = next(i for i, s in enumerate(steps) if s.startswith("USER app"))
    assert collect < user and "STATIC_ROOT=/app/static" in text  # collected by root into the image, read by app


def test_the_build_context_leaves_out_local_state():
    ignored = [line for line in (DEPLOY.parent / ".dockerignore").read_text().splitlines()
               if line and not line.startswith("#")]
    assert ignored[0] == "*"  # everything out, then only what the images need back in
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {line.split()[1].rstrip("/") for name in ("Dockerfile", "Dockerfile.gpu")
              for line in _instructions((DEPLOY / name).read_text()) if line.startswith("COPY ")}
    assert copied <= allowed  # every COPY source is in the context
    for local in (".venv", "node_modules", ".demo-data", ".git"):
        assert local not in allowed


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_images_fetch_the_checked_modnet_file_where_the_code_looks_and_never_install_its_wheel(name):
    from inference.matting import DEFAULT_MODEL_PATH

    steps = _instructions((DEPLOY / name).read_text())
    fetch = [s for s in steps if "fetch_matting_model.py" in s and s.startswith("RUN ")]
    assert len(fetch) == 1 and "--dest /app/models/modnet.onnx" in fetch[0]
    # /app is the repository root in the image: the runtime default (and settings' default) is that same file.
    assert DEFAULT_MODEL_PATH.relative_to(DEPLOY.parent).as_posix() == "models/modnet.onnx"
    assert "COPY models/PROVENANCE.md ./models/" in steps  # the Apache-2.0 attribution ships beside the weights
    assert not any("photobooth" in s for s in steps if s.startswith("RUN ") and "pip install" in s)
    allowed = [line for line in (DEPLOY.parent / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    assert not any(line.startswith("!models/") and not line.endswith("PROVENANCE.md") for line in allowed)


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_builds_the_cpu_torch_publishes_no_dashboard_and_sizes_object_stores_to_shm():
    services = _compose()["services"]
    assert "PIP_EXTRA_INDEX_URL" in services["migrate"]["build"]["args"]
    assert all("8265" not in str(service.get("ports", [])) for service in services.values())
    for name in ("ray-head", "ray-worker"):
        command = services[name]["command"]
        store = int(next(a for a in command if a.startswith("--object-store-memory=")).split("=")[1])
        assert store <= _bytes(services[name]["shm_size"]) * 0.8, name
    worker = services["worker"]
    assert int(worker["environment"]["RAY_OBJECT_STORE_MB"]) * 2**20 <= _bytes(worker["shm_size"]) * 0.8


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*([kmg]?)i?b?", size.lower()).groups()
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def test_compose_runs_gunicorn_and_the_worker_joins_the_ray_cluster_as_a_zero_cpu_node():
    services = _compose()["services"]
    assert services["web"]["command"] == ["web"]
    assert services["worker"]["command"][0] == "worker"
    entrypoint = (DEPLOY / "entrypoint.sh").read_text()
    assert "exec gunicorn -c python:config.gunicorn config.wsgi:application" in entrypoint
    assert 'ray start --address="$RAY_ADDRESS" --num-cpus=0 --num-gpus=0' in entrypoint
    assert "exec python manage.py rundramatiq" in entrypoint
    head_port = next(a for a in services["ray-head"]["command"] if a.startswith("--port=")).split("=")[1]
    assert services["worker"]["environment"]["RAY_ADDRESS"] == f"ray-head:{head_port}"


def test_the_gpu_override_wires_the_diffusion_backend_to_a_read_only_model_store():
    gpu = yaml.safe_load((DEPLOY / "docker-compose.gpu.yml").read_text())["services"]
    from compose_spec import PyOptions

    PyOptions(apply_merge=True).from_yaml((DEPLOY / "docker-compose.gpu.yml").read_text()).validate()
    worker = gpu["worker"]["environment"]
    assert worker["INFERENCE_BACKEND"] == "klein" and worker["RAY_NUM_GPUS_PER_ACTOR"] == "1"
    assert f"models:{worker['MODEL_STORE']}:ro" in gpu["ray-worker-gpu"]["volumes"]


def _k8s(path: str) -> dict:
    return yaml.safe_load((DEPLOY / "k8s" / path).read_text())


def test_kubernetes_wires_the_worker_and_ray_like_compose():
    config = _k8s("base/configmap.yaml")["data"]
    worker = _k8s("base/worker-deployment.yaml")["spec"]["template"]["spec"]
    container = worker["containers"][0]
    # The same entrypoint role as compose's worker: a zero-CPU Ray node, then rundramatiq.
    assert container["args"][0] == _compose()["services"]["worker"]["command"][0] == "worker"
    assert "command" not in container  # the image's entrypoint runs the role
    ip = next(e for e in container["env"] if e["name"] == "RAY_NODE_IP_ADDRESS")
    assert ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    cluster = _k8s("ray/raycluster.yaml")
    head = cluster["spec"]["headGroupSpec"]
    service = f"{cluster['metadata']['name']}-head-svc.{cluster['metadata']['namespace']}.svc.cluster.local"
    assert config["RAY_ADDRESS"] == f"{service}:{head['rayStartParams']['port']}"
    # The object store of the worker node fits its /dev/shm, like every Ray pod's.
    dshm = next(v for v in worker["volumes"] if v["name"] == "dshm")["emptyDir"]["sizeLimit"]
    assert int(config["RAY_OBJECT_STORE_MB"]) * 2**20 <= _bytes(dshm) * 0.8
    for group in [head, *cluster["spec"]["workerGroupSpecs"]]:
        volumes = {v["name"]: v for v in group["template"]["spec"].get("volumes", [])}
        assert int(group["rayStartParams"]["object-store-memory"]) <= _bytes(
            volumes["dshm"]["emptyDir"]["sizeLimit"]) * 0.8
    assert head["rayStartParams"]["include-dashboard"] == "false"
    assert all(p["containerPort"] != 8265 for p in head["template"]["spec"]["containers"][0]["ports"])


def test_kubernetes_gives_the_media_volume_to_the_app_user_and_the_gpu_nodes_a_read_only_model_store():
    for path in kustomize_resources():
        for document in yaml.safe_load_all(path.read_text()):
            pod = _pod_spec(document)
            if pod and any("persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] == "headshots-media"
                           for v in pod.get("volumes", [])):
                assert pod["securityContext"]["fsGroup"] == 10001, path.name
    config = _k8s("base/configmap.yaml")["data"]
    assert config["INFERENCE_BACKEND"] == "klein"
    gpu = next(w for w in _k8s("ray/raycluster.yaml")["spec"]["workerGroupSpecs"] if w["groupName"] == "gpu")
    mount = next(m for m in gpu["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"] == "models")
    assert mount["mountPath"] == config["MODEL_STORE"] and mount["readOnly"] is True
    models = _k8s("ray/models-pvc.yaml")
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(models, K8S_VERSION, strict=True)
    claim = next(v for v in gpu["template"]["spec"]["volumes"] if v["name"] == "models")["persistentVolumeClaim"]
    assert claim["claimName"] == models["metadata"]["name"]


def test_every_ray_worker_reads_the_media_volume_where_brand_kit_images_are_opened_by_path():
    # Background images and style references reach the actors as paths under MEDIA_ROOT.
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    gpu = yaml.safe_load((DEPLOY / "docker-compose.gpu.yml").read_text())["services"]
    for service in (compose["ray-worker"], gpu["ray-worker-gpu"]):
        assert "media:/data/media:ro" in service["volumes"]
    for group in _k8s("ray/raycluster.yaml")["spec"]["workerGroupSpecs"]:
        pod = group["template"]["spec"]
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "media")
        assert mount == {"name": "media", "mountPath": "/data/media", "readOnly": True}, group["groupName"]
        claim = next(v for v in pod["volumes"] if v["name"] == "media")["persistentVolumeClaim"]
        assert claim["claimName"] == "headshots-media" and pod["securityContext"]["fsGroup"] == 10001


def _pod_spec(document: dict) -> dict | None:
    spec = document.get("spec", {})
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec")


def _gunicorn_config(**env) -> subprocess.CompletedProcess:
    code = "import config.gunicorn as g; print(g.bind, g.workers, g.threads, g.worker_class, g.timeout)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=DEPLOY.parent,
                          env={**os.environ, "PYTHONPATH": f"{DEPLOY.parent / 'platform'}:{DEPLOY.parent}", **env})


def test_gunicorn_takes_its_processes_threads_and_address_from_the_environment_through_settings():
    done = _gunicorn_config(WEB_CONCURRENCY="3", WEB_THREADS="8", WEB_HOST="127.0.0.1", WEB_PORT="18000")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["127.0.0.1:18000", "3", "8", "gthread", "120"]
    refused = _gunicorn_config(WEB_CONCURRENCY="0")
    assert refused.returncode != 0 and "WEB_CONCURRENCY and WEB_THREADS must be at least 1" in refused.stderr
