"""`make demo`: one company's rollout end to end on the embedded default, through the public API.

Acme signs up, defines a brand kit and invites three employees; each accepts, uploads the bundled public-domain
sample selfies and starts generation; the real dramatiq actor (in-process worker) runs the Ray pool; employees pick
favourites, the admin approves them and downloads the ZIP export. Everything lands in --out.
"""
from __future__ import annotations

import contextlib
import email
import io
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import zipfile
from pathlib import Path

import dramatiq
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from dramatiq import Worker
from PIL import Image, ImageDraw, ImageOps
from rest_framework.test import APIClient

from inference.brand import BrandSpec
from inference.request import GenerationInput, SelfieInput
from ray_cluster.pool import shared_pool, shutdown_shared_pool
from teams.generation import pool_config

SAMPLES = Path(settings.BASE_DIR) / "samples" / "selfies"
EMPLOYEES = [
    # folder, name, email, external id, team
    ("barack_obama", "Barack Obama", "barack@acme.example", "ACME-0001", "Leadership"),
    ("grace_hopper", "Grace Hopper", "grace@acme.example", "ACME-0002", "Engineering"),
    ("eileen_collins", "Eileen Collins", "eileen@acme.example", "ACME-0003", "Operations"),
]
# Acme starts from the corporate & finance preset and changes what its brand guide says: a blue gradient,
# a 2048 px master (1638 x 2048), the 648 px size Microsoft 365 wants and a 256 px avatar.
BRAND_PRESET = "corporate_finance"
BRAND_KIT = {
    "background": {"kind": "gradient", "color": "#2d5d8a", "color_to": "#13304d"},
    "output_sizes": [1638, 648, 256],
}
PASSWORD = "demo-Passw0rd-not-for-production"


# Native log lines a newcomer can do nothing about: TensorFlow Lite's delegate notice, absl's "before
# InitializeLog" banner, and mediapipe's INFO lines and known-harmless warnings (their C++ writes to fd 2
# directly, so Python's logging can't filter them). Ray prefixes a worker's lines with "(Actor pid=N) ".
# Every other line, warnings included, still reaches the terminal.
NATIVE_NOISE = re.compile(
    r"^(\(\S+ pid=\d+(?:, ip=\S+)?\) )?(?:"
    r"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:. ]+\d+ \S+\.(?:cc|h):\d+\] "
    r"|W\d{4} [\d:. ]+\d+ (?:inference_feedback_manager|landmark_projection_calculator|gl_context)\.cc:\d+\] "
    r")")


RAY_TOKEN_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"


def is_native_noise(line: str) -> bool:
    return bool(NATIVE_NOISE.match(line))


@contextlib.contextmanager
def native_noise_filtered():
    """Route file descriptor 2 through a filter that drops NATIVE_NOISE lines and passes the rest on."""
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as source:
            for raw in source:
                if not is_native_noise(raw.decode("utf-8", "replace")):
                    os.write(original, raw)

    thread = threading.Thread(target=pump, name="demo-stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end, so the pump drains and stops
        thread.join(timeout=5)
        os.close(original)


def demo_summary(people: list[dict]) -> dict[str, dict]:
    """summary.json: per person, how many headshots they have and how many of them are approved (with their ids),
    counted from the API's rows, and how their generation request ended."""
    summary = {}
    for person in people:
        headshots = person.get("headshots", [])
        approved = [h["id"] for h in headshots if h.get("approved")]
        summary[person["name"]] = {"headshots": len(headshots), "approved": len(approved),
                                   "approved_ids": approved, "status": person["request"]["status"]}
    return summary


class Command(BaseCommand):
    help = "Run the whole headshot flow on the embedded default and write demo-output/."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="demo-output")
        parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for generation")

    def handle(self, *args, **options):
        # Ray's local cluster turns token auth on by itself and logs a notice saying how to opt out; the demo keeps
        # it on, so only that notice is hushed. (Setting RAY_AUTH_MODE here instead comes too late: Ray, imported
        # already, has read its config, and the driver then can't authenticate to its own cluster.)
        logging.getLogger(RAY_TOKEN_NOTICE_LOGGER).setLevel(logging.ERROR)
        with native_noise_filtered():
            self.run_demo(**options)

    def run_demo(self, *, out: str, timeout: int, **options):
        if settings.DRAMATIQ_BROKER_KIND != "stub":
            raise CommandError("The demo runs its own in-process worker: run it with DRAMATIQ_BROKER=stub.")
        missing = [folder for folder, *_ in EMPLOYEES if not any((SAMPLES / folder).glob("*"))]
        if missing:
            raise CommandError(f"Sample photos missing under {SAMPLES}: {', '.join(missing)}")
        out_dir = Path(out)
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
        started = time.monotonic()

        self.step("Setting up the database")
        call_command("migrate", verbosity=0)
        admin = APIClient()
        # Sign-up proves the address first: the code arrives by email (demo-output/outbox).
        self.api(admin.post, "/api/v1/auth/signup", {
            "email": "hr@acme.example", "password": PASSWORD, "name": "Acme HR", "organization_name": "Acme"}, 202)
        signup = self.api(admin.post, "/api/v1/auth/signup/verify",
                          {"email": "hr@acme.example", "code": mailed(r"\b(\d{6})\b", "hr@acme.example")}, 201)
        admin.credentials(HTTP_AUTHORIZATION=f"Token {signup['token']}")
        org = f"/api/v1/orgs/{signup['organization']}"

        # The bundled public-domain samples hold 1-3 photos a person; a real rollout keeps the default of 8.
        self.api(admin.patch, f"{org}/settings", {"selfies_required": 1}, 200)

        self.step("Creating the brand kit")
        presets = self.api(admin.get, f"{org}/brand-kit-presets", None, 200)
        self.say(f"  Industry presets: {', '.join(p['title'] for p in presets)}")
        kit = self.api(admin.post, f"{org}/brand-kits",
                       {"name": "Acme Corporate", "preset": BRAND_PRESET, "spec": BRAND_KIT}, 201)
        self.say(f"  {kit['name']} v{kit['version']} (from the {kit['preset']} preset): "
                 f"{kit['spec']['background']['kind']} background, {kit['spec']['lighting']} lighting, "
                 f"{kit['spec']['variants_per_person']} variants per person")

        self.step("Inviting employees and uploading their selfies")
        people = []
        for folder, name, address, external_id, team in EMPLOYEES:
            employee = self.api(admin.post, f"{org}/employees",
                                {"name": name, "email": address, "external_id": external_id, "team": team}, 201)
            self.api(admin.post, f"{org}/employees/{employee['id']}/invite", None, 201)
            # The invite link goes to the employee's mailbox only; each employee opens their own.
            client = APIClient()
            accepted = self.api(client.post, "/api/v1/invites/accept",
                                {"token": mailed(r"/invite/(\S+)", address), "password": PASSWORD, "name": name}, 200)
            client.credentials(HTTP_AUTHORIZATION=f"Token {accepted['token']}")
            # Each employee agrees to the biometric-processing consent text first, as the portal asks them to.
            consent = self.api(client.post, f"{org}/me/consent", None, 201)
            self.say(f"  {name}: consent v{consent['version']} recorded")
            photos = sorted(p for p in (SAMPLES / folder).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
            files = [_named(p) for p in photos]
            upload = client.post(f"{org}/me/selfies", {"files": files}, format="multipart")
            body = upload.json()
            self.say(f"  {name}: {len(body['accepted'])} selfie(s) accepted, {len(body['rejected'])} rejected")
            for rejected in body["rejected"]:
                self.say(f"    {rejected['file']}: {'; '.join(rejected['messages'])}")
            people.append({"folder": folder, "name": name, "employee": employee, "client": client, "photos": photos})

        self.step("Generating headshots (dramatiq actor -> local Ray pool)")
        # Start Ray and load the models once, before the worker takes the first job.
        t0 = time.monotonic()
        shared_pool(pool_config())
        self.say(f"  Ray pool ready ({settings.RAY_NUM_ACTORS} actor(s)) in {time.monotonic() - t0:.1f} s")
        for person in people:
            person["request"] = self.api(person["client"].post, f"{org}/me/generation-requests", {}, 201)
        self.run_worker_until_done(admin, org, people, timeout)

        self.step("Choosing favourites, approving, exporting")
        for person in people:
            headshots = self.api(person["client"].get, f"{org}/me/headshots", None, 200)["results"]
            person["headshots"] = headshots
            if not headshots:
                continue
            # The gallery lists only headshots that passed QC, best-ranked first; the employee takes the top one.
            best = headshots[0]
            self.api(person["client"].post, f"{org}/me/headshots/{best['id']}/select", {"selected": True}, 200)
            person["approved"] = self.api(admin.post, f"{org}/headshots/{best['id']}/approve", {"approved": True}, 200)
            # Read the set again, so the summary counts what the API now says is approved.
            person["headshots"] = self.api(person["client"].get, f"{org}/me/headshots", None, 200)["results"]
            self.write_headshots(admin, org, person, out_dir)

        export = admin.get(f"{org}/exports/headshots.zip", {"approved_only": "false"})
        if export.status_code != 200:
            raise CommandError(f"Export failed: HTTP {export.status_code}")
        zip_path = out_dir / "acme-headshots.zip"
        zip_path.write_bytes(b"".join(export.streaming_content))
        with zipfile.ZipFile(zip_path) as archive:
            count = len([n for n in archive.namelist() if n != "manifest.csv"])
        self.say(f"  Export: {zip_path} ({count} headshots + manifest.csv)")

        sheet = out_dir / "contact-sheet.png"
        _contact_sheet(people, admin, org, sheet)
        self.say(f"  Contact sheet: {sheet}")
        presets_sheet = out_dir / "presets.png"
        self.render_presets(presets, people[1]["photos"], presets_sheet)
        self.say(f"  Industry presets on one employee: {presets_sheet}")
        (out_dir / "summary.json").write_text(json.dumps(demo_summary(people), indent=2))

        shutdown_shared_pool()
        failed = [p["name"] for p in people if p["request"]["status"] != "done"]
        self.step(f"Done in {time.monotonic() - started:.0f} s; output in {out_dir}/")
        if failed:
            raise CommandError(f"Generation did not finish for: {', '.join(failed)}")

    # -- helpers -------------------------------------------------------------------------------------------------

    def run_worker_until_done(self, admin, org: str, people: list[dict], timeout: int) -> None:
        worker = Worker(dramatiq.get_broker(), worker_threads=1)
        worker.start()
        deadline = time.monotonic() + timeout
        last = None
        try:
            while True:
                for person in people:
                    person["request"] = self.api(admin.get, f"{org}/generation-requests/{person['request']['id']}",
                                                 None, 200)
                line = "  " + " | ".join(
                    f"{p['name']}: {p['request']['status']} {p['request']['progress_done']}/"
                    f"{p['request']['progress_total']}" for p in people)
                if line != last:
                    self.say(line)
                    last = line
                if all(p["request"]["status"] in {"done", "failed"} for p in people):
                    break
                if time.monotonic() > deadline:
                    raise CommandError(f"Generation did not finish within {timeout} s")
                time.sleep(0.5)
        finally:
            worker.stop()
        for person in people:
            if person["request"]["status"] == "failed":
                self.say(f"  {person['name']}: failed: {person['request']['error']}")

    def render_presets(self, presets: list[dict], photos: list[Path], target: Path) -> None:
        """The best variant of one employee under every industry preset, through the same Ray pool."""
        selfies = tuple(SelfieInput(name=p.name, data=p.read_bytes()) for p in photos)
        inputs = [GenerationInput(selfies=selfies, seed=7, brand=BrandSpec.from_dict(
            {**p["brand"], "variants_per_person": 1, "output_sizes": [480]})) for p in presets]
        tiles: list[Image.Image | None] = [None] * len(inputs)
        for index, output in shared_pool(pool_config()).generate(inputs):
            if output.headshots:
                tiles[index] = Image.open(io.BytesIO(output.headshots[0].renditions[0].data)).convert("RGB")
        cell_w, cell_h = 240, 300
        sheet = Image.new("RGB", (len(presets) * (cell_w + 10) + 10, cell_h + 40), "white")
        draw = ImageDraw.Draw(sheet)
        for i, (preset, tile) in enumerate(zip(presets, tiles, strict=True)):
            x = 10 + i * (cell_w + 10)
            draw.text((x, 8), preset["title"], fill="black")
            if tile is not None:
                sheet.paste(ImageOps.contain(tile, (cell_w, cell_h)), (x, 30))
        sheet.save(target)

    def write_headshots(self, admin, org: str, person: dict, out_dir: Path) -> None:
        folder = out_dir / person["folder"]
        folder.mkdir(exist_ok=True)
        for headshot in person["headshots"]:
            size = max(headshot["sizes"])
            response = admin.get(f"{org}/headshots/{headshot['id']}/file", {"size": size})
            mark = "-approved" if headshot["id"] == person.get("approved", {}).get("id") else ""
            (folder / f"headshot-{headshot['id']}-{headshot['variant']}{mark}.jpg").write_bytes(
                b"".join(response.streaming_content))

    def api(self, method, url: str, data, expected: int) -> dict:
        response = method(url, data, format="json") if data is not None else method(url)
        if response.status_code != expected:
            raise CommandError(f"{url}: expected HTTP {expected}, got {response.status_code}: "
                               f"{response.content[:500]!r}")
        return response.json()

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(text))
        sys.stdout.flush()

    def say(self, text: str) -> None:
        self.stdout.write(text)
        sys.stdout.flush()


def mailed(pattern: str, to: str) -> str:
    """From the newest email to `to` in the file-based outbox, the first group of `pattern`."""
    folder = Path(settings.EMAIL_FILE_PATH)
    for path in sorted(folder.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes())
        if to in message.get("To", ""):
            match = re.search(pattern, message.get_payload(decode=True).decode("utf-8", "replace"))
            if match:
                return match.group(1)
    raise CommandError(f"No email to {to} in {folder}: set EMAIL_BACKEND to the file-based backend (make demo does).")


def _named(path: Path) -> io.BytesIO:
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    return handle


CONTACT_SHEET_HEADSHOTS = 8


def _contact_sheet(people: list[dict], admin, org: str, target: Path, cell: int = 220) -> None:
    """One row per employee: their selfies, then their best-ranked headshots (the approved one outlined)."""
    columns = max(len(p["photos"]) + min(len(p.get("headshots", [])), CONTACT_SHEET_HEADSHOTS) for p in people)
    sheet = Image.new("RGB", (columns * (cell + 10) + 10, len(people) * (cell + 40) + 10), "white")
    draw = ImageDraw.Draw(sheet)
    for row, person in enumerate(people):
        y = 10 + row * (cell + 40)
        shown = person.get("headshots", [])[:CONTACT_SHEET_HEADSHOTS]
        draw.text((10, y), f"{person['name']}: selfies, then the {len(shown)} best-ranked of "
                           f"{len(person.get('headshots', []))} headshots", fill="black")
        x = 10
        for photo in person["photos"]:
            with Image.open(photo) as im:
                sheet.paste(ImageOps.contain(ImageOps.exif_transpose(im).convert("RGB"), (cell, cell)), (x, y + 20))
            x += cell + 10
        for headshot in shown:
            response = admin.get(f"{org}/headshots/{headshot['id']}/file", {"size": min(headshot["sizes"])})
            with Image.open(io.BytesIO(b"".join(response.streaming_content))) as im:
                thumb = ImageOps.contain(im.convert("RGB"), (cell, cell))
            sheet.paste(thumb, (x, y + 20))
            if headshot["id"] == person.get("approved", {}).get("id"):
                draw.rectangle((x - 3, y + 17, x + thumb.width + 2, y + 22 + thumb.height), outline="#1a9c3c", width=3)
            x += cell + 10
    sheet.save(target)
