"""The proof: a person with everything (real selfies, a real generation, an approved headshot, an export, webhooks,
pushes, Slack, invites, sign-in codes, sessions, an audit trail) is erased, and then every column of every table
and every stored file is searched for them. A colleague's data must come through untouched."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import invite_create
from connectors.models import PhotoDeletion, PhotoSync, SlackConnection, SyncStatus
from connectors.services import connection_create
from consent.models import Consent
from integrations.export_jobs import export_job_run, export_job_start
from integrations.models import ExportJob
from privacy.receipts import ErasureReceipt, receipt_json, verify
from sso.models import LoginCode
from teams.generation import generation_run
from teams.models import Employee, GenerationRequest, Headshot, IdentityProfile, Selfie, SelfieEmbedding
from tenancy.models import Membership, Role
from tests.conftest import REPO, dev_face
from tests.connectors.servers import BambooHRServer, GraphServer, SlackServer
from tests.factories import client_for, grant_consent, make_brand_kit, make_employee, make_user
from tests.urls import tenant_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]

BRAND = {"background": {"kind": "solid", "color": "#1f4e79"}, "output_sizes": [256], "variants_per_person": 2}
EMAIL, NAME, EXTERNAL_ID = "zebulon.quartermaine@acme.example", "Zebulon Quartermaine", "HRIS-ZQ-7781"
PORTRAIT = REPO / "samples" / "selfies" / "grace_hopper" / "grace_hopper.jpg"
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


def named(path: Path) -> io.BytesIO:
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    return handle


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def headshot_files(headshot: Headshot) -> list[str]:
    return [headshot.file.name, *headshot.renditions.values()]


def upload_selfies(org, user, identity: str, numbers) -> None:
    response = client_for(user).post(tenant_url("my-selfie-list", org),
                                     {"files": [named(dev_face(identity, n)) for n in numbers]}, format="multipart")
    assert response.status_code == 201, response.content


def manual_headshot(employee, kit) -> Headshot:
    """A finished request with a real portrait as its headshot (the colleague's; no second generation run)."""
    org = employee.organization
    request = GenerationRequest.objects.create(organization=org, employee=employee,
                                               brand_kit_version=kit.current_version, status="done")
    with Image.open(PORTRAIT) as photo:
        master, small = io.BytesIO(), io.BytesIO()
        photo.convert("RGB").save(master, "PNG")
        photo.convert("RGB").resize((256, 300)).save(small, "JPEG", quality=90)
        size = photo.size
    headshot = Headshot(organization=org, request=request, employee=employee, brand_kit_version=kit.current_version,
                        variant="standard", idempotency_key=f"{request.pk}:standard", width=size[0], height=size[1],
                        qc_passed=True)
    headshot.file.save("master.png", ContentFile(master.getvalue()), save=False)
    headshot.renditions = {"256": default_storage.save(f"orgs/{org.pk}/employees/{employee.pk}/h-256.jpg",
                                                       ContentFile(small.getvalue()))}
    headshot.save()
    return headshot


def export_now(org, admin) -> ExportJob:
    job = export_job_start(organization=org, preset="microsoft365", created_by=admin)
    job = export_job_run(job_id=job.pk)
    assert job.status == "done", job.error
    return job


def zip_manifest(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"))))


def colleague_state(colleague: Employee) -> dict:
    """Every row and file of the colleague, to compare before and after."""
    org = colleague.organization
    headshots = list(Headshot.objects.filter(employee=colleague).order_by("pk"))
    files = [s.file.name for s in Selfie.objects.filter(employee=colleague)]
    for headshot in headshots:
        files.extend(headshot_files(headshot))
    return {
        "employee": Employee.objects.filter(pk=colleague.pk).values().get(),
        "user": User.objects.filter(pk=colleague.user_id).values("email", "name").get(),
        "membership": list(Membership.objects.filter(user_id=colleague.user_id).values_list("organization_id",
                                                                                             "role")),
        "selfies": list(Selfie.objects.filter(employee=colleague).values_list("pk", "checksum")),
        "embeddings": list(SelfieEmbedding.objects.filter(employee=colleague).values_list("pk", "vector")),
        "profile": list(IdentityProfile.objects.filter(employee=colleague).values_list("profile", flat=True)),
        "consents": list(Consent.objects.filter(employee=colleague).values_list("pk", flat=True)),
        "headshots": [(h.pk, h.approved) for h in headshots],
        "photo_syncs": list(PhotoSync.objects.filter(employee=colleague).values_list("pk", "status")),
        "webhooks": sorted(m.pk for m in apps.get_model("webhooks", "WebhookMessage").objects.filter(
            organization=org, payload__employee__id=colleague.pk)),
        "files": {name: sha256(default_storage.open(name).read()) for name in files},
    }


@pytest.fixture
def directories(settings, allow_test_origin):
    with GraphServer() as graph, BambooHRServer() as bamboohr, SlackServer() as slack:
        for server in (graph, bamboohr, slack):
            allow_test_origin(server.url)
        settings.SLACK_API_BASE = slack.url
        yield {"graph": graph, "bamboohr": bamboohr, "slack": slack}


def test_an_erased_person_is_nowhere_in_the_database_or_storage_and_their_colleague_is_intact(
        org_a, ray_pool, redis_broker, directories):
    from webhooks.models import WebhookEndpoint, WebhookMessage
    from webhooks.signing import new_secret

    org_a.selfies_required = 3
    org_a.save()
    admin = make_user(org_a, Role.ADMIN)
    admin_api = client_for(admin)
    kit = make_brand_kit(org_a, **BRAND)
    WebhookEndpoint.objects.create(organization=org_a, url="https://hooks.example.com/acme", secret=new_secret())
    graph, bamboohr, slack = directories["graph"], directories["bamboohr"], directories["slack"]
    connection_create(organization=org_a, kind="microsoft_graph", credentials=graph.credentials(),
                      base_url=graph.url, auth_url=graph.url)
    connection_create(organization=org_a, kind="bamboohr", credentials=bamboohr.credentials(),
                      base_url=bamboohr.url)

    # The colleague: real selfies (embeddings, profile), consent, an approved headshot, pushes, a session.
    colleague_user = make_user(org_a, Role.EMPLOYEE, email="ada.colleague@acme.example")
    colleague = make_employee(org_a, colleague_user, name="Ada Colleague", external_id="HRIS-AC-1")
    grant_consent(colleague)
    upload_selfies(org_a, colleague_user, "katy_perry", (1, 2, 3))
    colleague_headshot = manual_headshot(colleague, kit)
    approve = tenant_url("headshot-approve", org_a, colleague_headshot.pk)
    assert admin_api.post(approve, {}, format="json").status_code == 200
    export_before = export_now(org_a, admin)  # lists the colleague only

    # The person: everything.
    user = make_user(org_a, Role.EMPLOYEE, email=EMAIL)
    user.name = NAME
    user.save()
    person = make_employee(org_a, user, name=NAME, email=EMAIL, external_id=EXTERNAL_ID)
    person.external_ids = {"microsoft": EMAIL, "bamboohr": EXTERNAL_ID}
    person.save()
    grant_consent(person)
    upload_selfies(org_a, user, "barack_obama", (1, 2, 3))
    started = client_for(user).post(tenant_url("my-generation-request-list", org_a), {}, format="json")
    assert started.status_code == 201, started.content
    request = generation_run(started.json()["id"])  # the real pipeline, in the shared Ray pool
    assert request.status == "done", request.error
    assert request.selfie_verdicts
    best = Headshot.objects.filter(request=request).order_by("rank").first()
    assert client_for(user).post(tenant_url("my-headshot-select", org_a, best.pk), {"selected": True},
                                 format="json").status_code == 200
    assert admin_api.post(tenant_url("headshot-approve", org_a, best.pk), {}, format="json").status_code == 200
    PhotoSync.objects.filter(employee=person).update(status=SyncStatus.SYNCED, synced_headshot=best,
                                                     remote_id=EMAIL)
    # The person connected Slack and we set their photo there: only their own token can take it down again.
    slack_token = slack.user_token("U0ZEBULON")
    slack.stored["U0ZEBULON"] = "their headshot"
    SlackConnection.objects.create(organization=org_a, employee=person, access_token=slack_token,
                                   team_id="T0ACME", slack_user_id="U0ZEBULON")
    PhotoSync.objects.create(organization=org_a, employee=person, destination="slack", status=SyncStatus.SYNCED,
                             synced_headshot=best, remote_id="U0ZEBULON")
    invite = invite_create(organization=org_a, email=EMAIL, role=Role.ADMIN, invited_by=admin,
                           employee=person).invite
    soon = timezone.now() + timedelta(minutes=10)
    LoginCode.objects.create(email=EMAIL, purpose="login", code_hash="a" * 64, expires_at=soon)
    LoginCode.objects.create(email=EMAIL, purpose="invite", invite=invite, code_hash="b" * 64, expires_at=soon)
    browser = Client()
    browser.force_login(user)
    try:
        from audit.services import record
    except ImportError:  # the audit log is optional in this tree
        record = None
    if record is not None:
        record(action="employee.viewed", organization=org_a, actor=user, object=("employee", person.pk))
    export_after = export_now(org_a, admin)  # lists both

    # What we must not find afterwards.
    selfies = list(Selfie.objects.filter(employee=person))
    headshots = list(Headshot.objects.filter(employee=person))
    assert len(selfies) == 3 and len(headshots) == 2
    embeddings = list(SelfieEmbedding.objects.filter(employee=person).values_list("vector", flat=True))
    assert len(embeddings) == 3
    needles = [EMAIL, NAME, EXTERNAL_ID, "U0ZEBULON", slack_token]
    needles += [s.checksum for s in selfies]
    needles += [repr(v) for vector in embeddings for v in vector[:8] if len(repr(v)) >= 12]
    assert len(needles) > 8 + 3 * 4
    person_hashes = {s.checksum for s in selfies}
    for headshot in headshots:
        person_hashes.update(sha256(default_storage.open(name).read()) for name in headshot_files(headshot))
    assert {sha256(p.read_bytes()) for p in media_files()} & person_hashes  # the search below can find them
    assert any(row["email"] == EMAIL for row in zip_manifest(Path(export_after.file.path)))
    assert WebhookMessage.objects.filter(payload__employee__email=EMAIL).exists()
    before = colleague_state(colleague)
    user_id, employee_id = user.pk, person.pk
    token = Token.objects.get(user=user).key

    response = client_for(user).post(tenant_url("my-erase", org_a), {"confirm": "ERASE"}, format="json")
    assert response.status_code == 200, response.content
    document = receipt_json(ErasureReceipt.objects.get(pk=response.json()["id"]))

    # The receipt: signed, complete, and about nobody by name.
    assert verify(document) and verify(response.json())
    counts = document["counts"]
    assert counts["selfies"] == 3 and counts["embeddings"] == 3 and counts["identity_profiles"] == 1
    assert counts["headshots"] == 2 and counts["generation_requests"] == 1 and counts["consents"] == 1
    assert counts["export_zips"] == 1 and counts["invites"] == 1 and counts["login_codes"] == 2
    assert counts["slack_connections"] == 1 and counts["photo_syncs"] == 3 and counts["webhook_messages"] >= 1
    assert counts["user_accounts"] == 1 and counts["sessions"] == 1 and counts["api_tokens"] == 1
    # The selfies, each headshot's master and renditions, and the export ZIP.
    assert document["files"] == {"deleted": 3 + sum(len(headshot_files(h)) for h in headshots) + 1, "pending": 0}
    assert {d["destination"]: d["outcome"] for d in document["destinations"]} == {
        "microsoft_graph": "deleted", "bamboohr": "not_supported", "slack": "deleted"}
    assert graph.deleted == [EMAIL]  # the photo really left Microsoft 365
    assert slack.deleted == ["U0ZEBULON"] and not slack.stored  # and Slack
    assert not any(needle.lower() in json.dumps(document).lower() for needle in needles)

    # The events others hear: employee.deleted carries the id and nothing else that identifies the person.
    deleted_event = WebhookMessage.objects.get(event_type="employee.deleted")
    assert {k: v for k, v in deleted_event.payload["employee"].items() if v not in ("", {}, None)} == {
        "id": employee_id}

    # Every text, JSON and binary column of every table in the database.
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = current_schema() AND data_type = ANY(%s)", [list(TEXT_TYPES)])
        columns = cursor.fetchall()
        assert len({table for table, _, _ in columns}) >= 30
        found = []
        for table, column, data_type in columns:
            for needle in needles:
                if data_type == "bytea":
                    sql = f'SELECT count(*) FROM "{table}" WHERE position(%s::bytea in "{column}") > 0'
                    cursor.execute(sql, [needle.encode()])
                else:
                    cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',
                                   [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    found.append((table, column, needle))
    assert found == []

    # No foreign key anywhere still points at the person's user account or employee row.
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                assert not model._base_manager.filter(**{field.attname: user_id}).exists(), (model, field.name)
            if field.is_relation and field.related_model is Employee:
                assert not model._base_manager.filter(**{field.attname: employee_id}).exists(), (model, field.name)
    assert not PhotoDeletion.objects.exclude(remote_user="").exists()

    # Every stored file: none is (or holds in a ZIP) the person's selfies or headshots, or lists them.
    for path in media_files():
        data = path.read_bytes()
        assert sha256(data) not in person_hashes, path
        assert EMAIL.encode() not in data and EXTERNAL_ID.encode() not in data, path
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    assert sha256(archive.read(member)) not in person_hashes, (path, member)
            assert all(row["employee_id"] != str(employee_id) for row in zip_manifest(path))
    export_after.refresh_from_db()
    assert export_after.status == "erased" and not export_after.file

    # Signed out: the token and the browser session no longer work.
    assert Client(HTTP_AUTHORIZATION=f"Token {token}").get(tenant_url("me", org_a)).status_code == 401
    assert browser.get(tenant_url("me", org_a)).status_code in (401, 403)

    # The colleague: every row and file as before, and the export that listed only them is still there.
    assert colleague_state(colleague) == before
    export_before.refresh_from_db()
    assert export_before.status == "done" and default_storage.exists(export_before.file.name)
    assert [row["email"] for row in zip_manifest(Path(export_before.file.path))] == ["ada.colleague@acme.example"]
    assert Token.objects.filter(user=colleague_user).exists()
    assert client_for(colleague_user).get(tenant_url("me", org_a)).json()["email"] == "ada.colleague@acme.example"
