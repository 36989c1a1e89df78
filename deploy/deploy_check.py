#!/usr/bin/env python3
"""`make deploy-check`: the deployment as shipped, proved end to end on this machine (not part of `make test`).

1. Builds deploy/Dockerfile with docker when an engine answers, else with podman/buildah (runc, cgroupfs, host
   network). Base images that can't be pulled (no registry) are stood in by Debian builds, made once and reused.
   PyPI's torch is the CUDA build: the on-disk CPU wheel is served to the build as a one-package index.
2. Brings up deploy/docker-compose.yml (postgres, redis, migrate, web, worker, ray-head, ray-worker) with
   deploy/deploy_check.compose.yml on top: host networking, loopback addresses, ports of its own.
3. Through the HTTP API only: signs up, creates a brand kit, imports 3 employees, accepts their invites from the
   emailed links (file-based email backend), gives consent, uploads the bundled sample selfies, starts a rollout and
   waits until every headshot is stored, downloads each, approves one per person and pulls them with an API key.
4. The same again, killing the Ray worker container mid-rollout: the rollout completes, 0 lost and 0 duplicated.
5. Tears down every container and volume it started (by name) and prints each step's time.

Run as root where podman is the engine:  make deploy-check   (or: .venv/bin/python deploy/deploy_check.py)
"""
from __future__ import annotations

import argparse
import contextlib
import email
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_FILES = [DEPLOY / "docker-compose.yml", DEPLOY / "deploy_check.compose.yml"]
PROJECT = "headshots-deploy-check"
SERVICES = ["postgres", "redis", "migrate", "web", "worker", "ray-head", "ray-worker"]
VOLUMES = ["pgdata", "redisdata", "media"]
APP_IMAGE = "headshots/app:latest"
WEB = "http://127.0.0.1:18000"  # deploy_check.compose.yml's WEB_PORT
RAY_HEAD = "127.0.0.1:46380"
# A fixed port: the index URL is a build argument, and a new one each run would miss the build cache.
TORCH_INDEX_PORT = 47891
STANDINS = {  # what the Dockerfiles and compose ask for -> the Containerfile that stands in for it
    "docker.io/library/python:3.11-slim-bookworm": "python.Containerfile",
    "docker.io/library/postgres:16-bookworm": "postgres.Containerfile",
    "docker.io/library/redis:7.4-bookworm": "redis.Containerfile",
}
DEBIAN = "localhost/debian:bookworm-slim"
# The bundled sample selfies (samples/PROVENANCE.md): one person per employee.
PEOPLE = ["barack_obama", "eileen_collins", "grace_hopper"]
PASSWORD = "deploy-check-Passw0rd!"  # nosec: a throwaway account in a throwaway stack
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""


class CheckFailed(Exception):
    pass


# --- timing and processes ---------------------------------------------------------------------------------------

STEPS: list[tuple[str, float, str]] = []
_START = time.monotonic()


@contextlib.contextmanager
def step(name: str):
    print(f"\n==> {name}", flush=True)
    started = time.monotonic()
    outcome = "FAILED"
    try:
        yield
        outcome = "ok"
    finally:
        took = time.monotonic() - started
        STEPS.append((name, took, outcome))
        print(f"<== {name}: {outcome} in {took:.1f} s", flush=True)


def log(message: str) -> None:
    print(f"    [{time.monotonic() - _START:7.1f} s] {message}", flush=True)


def run(cmd: list[str], *, env: dict | None = None, check: bool = True, capture: bool = False, timeout: float = 1800,
        input: bytes | None = None, quiet: bool = False) -> subprocess.CompletedProcess:
    if not quiet:
        log("$ " + " ".join(str(c) for c in cmd))
    done = subprocess.run([str(c) for c in cmd], env=env, input=input, timeout=timeout,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    if check and done.returncode != 0:
        detail = (done.stderr or b"").decode(errors="replace")[-2000:] if capture else ""
        raise CheckFailed(f"{cmd[0]} exited with {done.returncode}: {' '.join(map(str, cmd))}\n{detail}")
    return done


# --- the container engine ---------------------------------------------------------------------------------------

class Engine:
    """docker when its daemon answers; else podman, with the settings this machine kind needs."""

    def __init__(self, workdir: Path):
        if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
            self.name, self.env = "docker", dict(os.environ)
            self.compose_cmd = ["docker", "compose"]
        elif shutil.which("podman"):
            self.name = "podman"
            conf = workdir / "containers.conf"
            conf.write_text(CONTAINERS_CONF)
            # crun refuses this machine's hybrid cgroups and rlimits; these settings are passed, /etc is left alone.
            self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
            try:
                # lazy: podman-compose is an optional tool, needed only where docker is missing
                import podman_compose  # noqa: F401
            except ImportError:
                raise CheckFailed("podman-compose is missing: pip install 'podman-compose==1.6.0'") from None
            self.compose_cmd = [sys.executable, "-m", "podman_compose"]
        else:
            raise CheckFailed("no container engine: install docker, or podman, buildah, runc and debootstrap")

    def __call__(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return run([self.name, *args], env=self.env, **kwargs)

    def compose(self, *args, **kwargs) -> subprocess.CompletedProcess:
        files = [a for f in COMPOSE_FILES for a in ("-f", str(f))]
        return run([*self.compose_cmd, "-p", PROJECT, *files, *args], env=self.env, **kwargs)

    def container(self, service: str) -> str:
        return f"{PROJECT}_{service}_1" if self.name == "podman" else f"{PROJECT}-{service}-1"

    def volume(self, name: str) -> str:
        return f"{PROJECT}_{name}"

    def image_exists(self, ref: str) -> bool:
        if self.name == "podman":
            return self("image", "exists", ref, check=False, quiet=True).returncode == 0
        return self("image", "inspect", ref, check=False, capture=True, quiet=True).returncode == 0

    def build(self, dockerfile: Path, tag: str, context: Path, build_args: dict[str, str] | None = None) -> None:
        args = [a for k, v in (build_args or {}).items() for a in ("--build-arg", f"{k}={v}")]
        if self.name == "docker":
            self("build", "-f", dockerfile, "-t", tag, *args, context)
        else:
            # Docker format keeps HEALTHCHECK; --layers caches each step for the next run.
            run(["buildah", "bud", "--format", "docker", "--layers", "--network", "host", "--isolation", "chroot",
                 "-f", dockerfile, "-t", tag, *args, context], env=self.env)

    def healthy(self, service: str) -> bool:
        """Runs the container's healthcheck now (podman without systemd never runs it by itself)."""
        name = self.container(service)
        if self.name == "podman":
            return self("healthcheck", "run", name, check=False, capture=True, quiet=True).returncode == 0
        status = self("inspect", "-f", "{{.State.Health.Status}}", name, check=False, capture=True, quiet=True)
        return status.stdout.decode().strip() == "healthy"


# --- images -----------------------------------------------------------------------------------------------------

def pip_config(key: str) -> str | None:
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name, _, value = line.partition("=")
        if name.split(".")[-1] == key:
            return value.strip().strip("'\"").split()[0]
    return None


def ensure_base_images(engine: Engine, workdir: Path) -> None:
    if engine.name == "docker":
        return  # docker pulls the real ones
    for ref, containerfile in STANDINS.items():
        if engine.image_exists(ref):
            log(f"{ref}: present (reused)")
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            if engine("pull", ref, check=False, capture=True, timeout=60).returncode == 0:
                continue
        log(f"{ref}: no registry answers; building a Debian STAND-IN ({containerfile})")
        ensure_debian(engine, workdir)
        context = workdir / "standin-context"
        shutil.copytree(DEPLOY / "standins", context, dirs_exist_ok=True)
        shutil.copy(pip_config("cert") or "/etc/ssl/certs/ca-certificates.crt", context / "host-ca.crt")
        engine.build(context / containerfile, ref, context)


def ensure_debian(engine: Engine, workdir: Path) -> None:
    if engine.image_exists(DEBIAN):
        return
    if not shutil.which("debootstrap"):
        raise CheckFailed("building the stand-in base images needs debootstrap (apt-get install debootstrap)")
    rootfs = workdir / "rootfs"
    run(["debootstrap", "--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian"], capture=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    run([engine.name, "import", "-", DEBIAN], env=engine.env, input=tar.stdout.read())
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)


@contextlib.contextmanager
def torch_cpu_index(workdir: Path):
    """The on-disk CPU torch wheel as a one-package simple index on 127.0.0.1 (None where there is none)."""
    folder = pip_config("find-links")
    wheels = sorted(Path(folder).glob("torch-2.13.0+cpu-*.whl")) if folder else []
    if not wheels:
        log("no CPU torch wheel on disk: the build uses the Dockerfile's default index")
        yield None
        return
    root = workdir / "torch-index"
    (root / "simple" / "torch").mkdir(parents=True, exist_ok=True)
    (root / "wheels").mkdir(exist_ok=True)
    link = root / "wheels" / wheels[-1].name
    if not link.exists():
        link.symlink_to(wheels[-1])
    href = "/wheels/" + urllib.parse.quote(wheels[-1].name)
    (root / "simple" / "torch" / "index.html").write_text(f'<a href="{href}">{wheels[-1].name}</a>\n')
    handler = functools.partial(QuietHandler, directory=str(root))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", TORCH_INDEX_PORT), handler)
    except OSError:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log(f"serving {wheels[-1].name} at http://127.0.0.1:{server.server_port}/simple")
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# --- the stack --------------------------------------------------------------------------------------------------

def wait_until(what: str, predicate, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def stack_up(engine: Engine) -> None:
    # `up --no-deps` service by service: podman-compose can't resolve depends_on through the one-shot migrate, and
    # without systemd it never runs healthchecks, so readiness is waited for here.
    with step("start postgres and redis"):
        engine.compose("up", "-d", "--no-deps", "postgres", "redis")
        wait_until("postgres and redis healthchecks", lambda: engine.healthy("postgres") and engine.healthy("redis"),
                   120)
    with step("migrate (one-shot)"):
        engine.compose("up", "-d", "--no-deps", "migrate")
        code = engine("wait", engine.container("migrate"), capture=True).stdout.decode().strip()
        if code != "0":
            engine("logs", "--tail", "40", engine.container("migrate"), check=False)
            raise CheckFailed(f"migrate exited with {code}")
    with step("start ray-head"):
        engine.compose("up", "-d", "--no-deps", "ray-head")
        wait_until("the Ray head's healthcheck", lambda: engine.healthy("ray-head"), 120)
    with step("start ray-worker, worker and web"):
        engine.compose("up", "-d", "--no-deps", "ray-worker", "worker", "web")
        wait_until("web /readyz", lambda: http_status(f"{WEB}/readyz") == 200, 180)
        for service in ("web", "worker", "ray-worker"):
            wait_until(f"{service}'s healthcheck", lambda s=service: engine.healthy(s), 120, every=3)
        # Three Ray nodes: the head (0 CPUs), the Ray worker (2 CPUs) and the dramatiq worker (0 CPUs).
        wait_until("3 Ray nodes", lambda: ray_nodes(engine) == 3, 120)
        log("healthy: postgres, redis, ray-head, ray-worker, worker (a zero-CPU Ray node), web (gunicorn); 3 Ray nodes")
        # Only collected files are served in the image (no finders): these prove collectstatic ran at build time.
        for path in ("/static/admin/css/base.css", "/static/portal/admin.css"):
            if http_status(WEB + path) != 200:
                raise CheckFailed(f"{path} is not served: were the static files collected into the image?")
        log("static files collected at build time are served by the web role")


def ray_nodes(engine: Engine) -> int:
    code = "import ray; ray.init(address='%s', log_to_driver=False); print(len([n for n in ray.nodes() if n['Alive']]))"
    done = engine("exec", engine.container("ray-head"), "python", "-c", code % RAY_HEAD, check=False, capture=True,
                  quiet=True)
    lines = done.stdout.decode().split()
    return int(lines[-1]) if done.returncode == 0 and lines and lines[-1].isdigit() else 0


def stack_down(engine: Engine) -> None:
    with step("tear down (containers and volumes, by name)"):
        engine.compose("down", "-v", "-t", "10", check=False, capture=True)
        for service in SERVICES:
            engine("rm", "-f", "-v", engine.container(service), check=False, capture=True, quiet=True)
        for volume in VOLUMES:
            engine("volume", "rm", "-f", engine.volume(volume), check=False, capture=True, quiet=True)
        left = [s for s in SERVICES
                if engine("container", "inspect", engine.container(s), check=False, capture=True,
                          quiet=True).returncode == 0]
        left += [v for v in VOLUMES
                 if engine("volume", "inspect", engine.volume(v), check=False, capture=True,
                           quiet=True).returncode == 0]
        if left:
            raise CheckFailed(f"still there after tear-down: {left}")
        log("no container or volume of the check is left (images stay cached)")


# --- the HTTP API -----------------------------------------------------------------------------------------------

def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Api:
    """A client of the HTTP API with one credential (a user's token or an API key)."""

    def __init__(self, authorization: str | None = None):
        self.authorization = authorization

    def call(self, method: str, path: str, body=None, *, files: list[tuple[str, Path]] | None = None,
             fields: dict | None = None, expect: int | tuple = 200, raw: bool = False):
        url = path if path.startswith("http") else WEB + path
        headers = {"Accept": "application/json"}
        data = None
        if files is not None:
            data, content_type = multipart(fields or {}, files)
            headers["Content-Type"] = content_type
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if self.authorization:
            headers["Authorization"] = self.authorization
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload, content_type = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            status, payload, content_type = exc.code, exc.read(), exc.headers.get_content_type()
        expected = expect if isinstance(expect, tuple) else (expect,)
        if status not in expected:
            raise CheckFailed(f"{method} {path} answered {status}, expected {expect}: {payload[:500]!r}")
        if raw:
            return payload, content_type
        return json.loads(payload) if payload and content_type == "application/json" else None

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def all_pages(self, path: str) -> list:
        rows, url = [], path
        while url:
            page = self.get(url)
            rows += page["results"]
            url = page.get("next")
        return rows


def multipart(fields: dict, files: list[tuple[str, Path]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, path in files:
        kind = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
                     f"Content-Type: {kind}\r\n\r\n".encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def sign_up(email_address: str, organization: str, outbox: Path) -> tuple[Api, str]:
    """A new HR admin and their organization -> (their API client, the organization's slug): the sign-up, then the
    6-digit code the app emailed to the address (nothing exists before the address is proven)."""
    Api().post("/api/v1/auth/signup", {"email": email_address, "password": PASSWORD, "name": "Check Admin",
                                       "organization_name": organization}, expect=202)
    code = wait_until("the sign-up code in the outbox",
                      lambda: emailed(outbox, r"\b(\d{6})\b").get(email_address.lower()), 30, 1)
    created = Api().post("/api/v1/auth/signup/verify", {"email": email_address, "code": code}, expect=201)
    return Api(f"Token {created['token']}"), created["organization"]


def emailed(outbox: Path, pattern: str) -> dict[str, str]:
    """recipient -> the first group of `pattern` in the newest email to them that has it (Django's file backend:
    messages split by 79 dashes)."""
    found_by_recipient: dict[str, str] = {}
    for path in sorted(outbox.glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)):
        for chunk in path.read_text(errors="replace").split("-" * 79):
            if not chunk.strip():
                continue
            message = email.message_from_string(chunk.strip())
            body = message.get_payload(decode=True)
            text = body.decode(errors="replace") if isinstance(body, bytes) else str(message.get_payload())
            found = re.search(pattern, text)
            if found and message["To"]:
                found_by_recipient[message["To"].strip().lower()] = found.group(1)
    return found_by_recipient


def invite_links(outbox: Path) -> dict[str, str]:
    """recipient -> the newest invite token emailed to them."""
    return emailed(outbox, r"/invite/([A-Za-z0-9_\-]+)")


def rollout_scenario(engine: Engine, outbox: Path, *, label: str, variants: int, kill_ray_worker: bool) -> dict:
    run_id = uuid.uuid4().hex[:6]
    with step(f"{label}: sign up, brand kit, import 3 employees"):
        admin, slug = sign_up(f"admin-{run_id}@check.example", f"Deploy check {run_id}", outbox)
        base = f"/api/v1/orgs/{slug}"
        # The bundled samples hold 1 to 3 photos per person.
        admin.patch(f"{base}/settings", {"selfies_required": 1})
        admin.post(f"{base}/brand-kits", {"name": "Check blue", "spec": {
            "background": {"kind": "solid", "color": "#1f4e79"}, "output_sizes": [512, 256],
            "variants_per_person": variants}}, expect=201)
        emails = {person: f"{person.replace('_', '.')}.{run_id}@check.example" for person in PEOPLE}
        csv = "name,email,external_id,team\n" + "".join(
            f"{person.replace('_', ' ').title()},{address},EXT-{run_id}-{n},Check\n"
            for n, (person, address) in enumerate(emails.items()))
        csv_path = outbox.parent / f"employees-{run_id}.csv"
        csv_path.write_text(csv)
        imported = admin.post(f"{base}/employees/import", files=[("file", csv_path)])
        if imported["created"] != 3 or imported["errors"]:
            raise CheckFailed(f"import: {imported}")
        employees = {e["email"]: e for e in admin.all_pages(f"{base}/employees")}
        log(f"organization {slug}: {len(employees)} employees imported")
    with step(f"{label}: invite, accept from the emailed links, consent, upload selfies"):
        for address in emails.values():
            admin.post(f"{base}/employees/{employees[address]['id']}/invite", expect=201)
        links = wait_until("3 invite emails in the outbox",
                           lambda: (t := invite_links(outbox)) and all(a in t for a in emails.values()) and t, 30, 1)
        for person, address in emails.items():
            accepted = Api().post("/api/v1/invites/accept", {"token": links[address], "password": PASSWORD})
            me = Api(f"Token {accepted['token']}")
            me.post(f"{base}/me/consent", expect=201)
            photos = sorted((ROOT / "samples" / "selfies" / person).iterdir())
            me.post(f"{base}/me/selfies", files=[("files", p) for p in photos], expect=201)
            log(f"{person}: invite accepted from the email, consent given, {len(photos)} selfie(s) uploaded")
    with step(f"{label}: rollout" + (" (the Ray worker container is killed mid-rollout)" if kill_ray_worker else "")):
        rollout = admin.post(f"{base}/rollouts", {"scope": "all"}, expect=201)
        url = f"{base}/rollouts/{rollout['id']}"
        if rollout["counts"]["total"] != 3:
            raise CheckFailed(f"the rollout took {rollout['counts']['total']} of 3 employees: {rollout['skipped']}")
        if kill_ray_worker:
            wait_until("a request running", lambda: admin.get(url)["counts"]["running"] >= 1, 300, 0.5)
            time.sleep(2)  # let the actors get into the work
            counts = admin.get(url)["counts"]
            engine("kill", engine.container("ray-worker"))
            log(f"killed the Ray worker container (SIGKILL) at {counts['headshots_stored']}/"
                f"{counts['headshots_planned']} headshots stored, {counts['running']} request(s) running")
            time.sleep(10)
            # The orchestrator brings the node back (compose's restart policy doesn't count a kill; Kubernetes would).
            engine.compose("up", "-d", "--no-deps", "ray-worker")
            log("the Ray worker container is back; actors are restarted on it")
        last = None

        def finished():
            nonlocal last
            current = admin.get(url)
            progress = (current["status"], current["counts"]["done"], current["counts"]["headshots_stored"])
            if progress != last:
                log(f"rollout {current['status']}: {current['counts']['done']}/3 requests done, "
                    f"{current['counts']['headshots_stored']}/{current['counts']['headshots_planned']} "
                    "headshots stored, "
                    f"{current['counts']['retrying']} retrying, {current['counts']['failed']} failed")
                last = progress
            return current if current["status"] in ("done", "cancelled") else None

        done = wait_until("the rollout to finish", finished, 600, 2)
    with step(f"{label}: every headshot stored and served; the pull API serves each approved one"):
        headshots = admin.all_pages(f"{base}/headshots?page_size=100")
        planned = 3 * variants
        keys = {(h["employee"], h["variant"]) for h in headshots}
        lost, duplicated = planned - len(keys), len(headshots) - len(keys)
        for headshot in headshots:
            image, kind = admin.get(f"{base}/headshots/{headshot['id']}/file", raw=True)
            if not image.startswith((b"\xff\xd8", b"\x89PNG")):
                raise CheckFailed(f"headshot {headshot['id']} isn't served as an image ({kind})")
        firsts = {}
        for headshot in sorted(headshots, key=lambda h: (h["employee"], h["rank"] or 0)):
            firsts.setdefault(headshot["employee"], headshot)
        for headshot in firsts.values():
            admin.post(f"{base}/headshots/{headshot['id']}/approve", {}, expect=200)
        key = admin.post(f"{base}/api-keys", {"name": "check", "scopes": ["employees:read", "headshots:read"]},
                         expect=201)["key"]
        puller = Api(f"Bearer {key}")
        directory = puller.get("/api/v1/directory/employees")["results"]
        pulled = 0
        for row in directory:
            if row["headshot"] and row["headshot"]["url"]:
                image, kind = puller.get(row["headshot"]["url"], raw=True)
                pulled += image.startswith((b"\xff\xd8", b"\x89PNG"))
        result = {"status": done["status"], "requests_done": done["counts"]["done"],
                  "requests_failed": done["counts"]["failed"], "headshots_planned": planned,
                  "headshots_stored": len(headshots), "lost": lost, "duplicated": duplicated,
                  "served": len(headshots), "pulled": pulled}
        log(f"{label}: {json.dumps(result)}")
        if (done["status"], done["counts"]["done"], lost, duplicated, pulled) != ("done", 3, 0, 0, 3):
            raise CheckFailed(f"{label}: expected a finished rollout, 0 lost, 0 duplicated, 3 pulled: {result}")
    return result


# --- main -------------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=6, help="headshots per employee (default 6)")
    parser.add_argument("--keep-up", action="store_true", help="leave the stack running (to look around)")
    parser.add_argument("--build-only", action="store_true", help="build the images, start nothing")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="headshots-deploy-check-"))
    outbox = workdir / "outbox"
    outbox.mkdir()
    if os.geteuid() == 0:
        os.chown(outbox, 10001, 10001)  # the image's app user (uid 10001) writes the emails there
    else:
        outbox.chmod(0o777)
    os.environ["CHECK_OUTBOX"] = str(outbox)
    results, failure = {}, None
    engine = None
    try:
        engine = Engine(workdir)
        print(f"engine: {engine.name}; work folder {workdir}")
        with step("base images (Debian stand-ins where no registry answers; reused once built)"):
            ensure_base_images(engine, workdir)
        with step(f"build {APP_IMAGE} (deploy/Dockerfile; cached layers reused)"):
            with torch_cpu_index(workdir) as index:
                engine.build(DEPLOY / "Dockerfile", APP_IMAGE, ROOT,
                             {"PIP_EXTRA_INDEX_URL": index} if index else None)
        if args.build_only:
            return 0
        stack_down_quietly(engine)  # what an interrupted earlier run left
        stack_up(engine)
        results["rollout"] = rollout_scenario(engine, outbox, label="run 1", variants=args.variants,
                                              kill_ray_worker=False)
        results["rollout, Ray worker killed"] = rollout_scenario(engine, outbox, label="run 2",
                                                                 variants=args.variants, kill_ray_worker=True)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        failure = exc
        print(f"\nFAILED: {exc}", file=sys.stderr)
        if engine is not None:
            for service in ("worker", "ray-worker", "web"):
                engine("logs", "--tail", "30", engine.container(service), check=False, quiet=True)
    finally:
        if engine is not None and not args.keep_up and not args.build_only:
            try:
                stack_down(engine)
            except CheckFailed as exc:
                failure = failure or exc
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n==> summary")
    for name, took, outcome in STEPS:
        print(f"    {took:7.1f} s  {outcome:6}  {name}")
    print(f"    {time.monotonic() - _START:7.1f} s  total")
    for label, result in results.items():
        print(f"    {label}: lost {result['lost']}, duplicated {result['duplicated']}, "
              f"{result['headshots_stored']}/{result['headshots_planned']} stored and served, "
              f"{result['pulled']}/3 pulled")
    print("deploy-check: " + ("FAILED" if failure else "passed"))
    return 1 if failure else 0


def stack_down_quietly(engine: Engine) -> None:
    for service in SERVICES:
        engine("rm", "-f", "-v", engine.container(service), check=False, capture=True, quiet=True)
    for volume in VOLUMES:
        engine("volume", "rm", "-f", engine.volume(volume), check=False, capture=True, quiet=True)


if __name__ == "__main__":
    sys.exit(main())
