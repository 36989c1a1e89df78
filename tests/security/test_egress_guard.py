"""The egress guard (config/egress.py): the one gate between a URL an organization's admin typed (webhook receivers,
connector base and token URLs) and a connection the platform opens. Played as a hostile admin would: every spelling
of an internal address, DNS that answers 127.0.0.1 (or changes its answer after the URL was saved), redirects
inward, and error texts read as a port scanner."""
from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import config.egress as egress
from config.egress import UNREACHABLE_MESSAGE, EgressRefused, EgressUnreachable, egress_check, egress_request
from connectors.models import Connection, Destination, PhotoSync, SyncStatus
from connectors.services import photo_sync_run
from tenancy.models import Role
from tests.connectors.conftest import make_headshot
from tests.factories import client_for, make_employee, make_user
from tests.urls import tenant_url
from tests.webhooks.factories import make_webhook_org
from tests.webhooks.test_https_receiver import make_pki
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_attempt, event_emit

pytestmark = pytest.mark.django_db

PUBLIC_V4 = "93.184.216.34"

# Each is an internal address, however it is written. None may be saved or called.
INTERNAL_URLS = [
    # IPv4: loopback, private, link-local (cloud metadata), CGNAT, "this network", reserved, multicast, broadcast
    "https://127.0.0.1/", "https://127.255.255.254/", "https://10.0.0.1/", "https://172.16.0.1/",
    "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data/", "https://100.64.0.1/", "https://0.0.0.0/",
    "https://192.0.0.8/", "https://198.18.0.1/", "https://224.0.0.1/", "https://240.0.0.1/",
    "https://255.255.255.255/",
    # IPv4 in decimal, octal, hex and short spellings (all 127.0.0.1 to inet_aton), and a leading zero
    "https://2130706433/", "https://017700000001/", "https://0x7f000001/", "https://0177.0.0.1/", "https://0x7f.1/",
    "https://127.1/", "https://127.0.1/", "https://010.0.0.1/", "https://0251.0376.0251.0376/",
    # IPv6 loopback and unspecified, and IPv4 inside IPv6: compatible, mapped, translated
    "https://[::1]/", "https://[::]/", "https://[0:0:0:0:0:0:0:1]/", "https://[::7f00:1]/", "https://[::127.0.0.1]/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://[::FFFF:169.254.169.254]/",
    "https://[::ffff:10.0.0.1]/", "https://[::ffff:0:7f00:1]/",
    # NAT64 (well-known prefix to a private IPv4; the local-use prefix always), 6to4 to a private IPv4, Teredo
    "https://[64:ff9b::7f00:1]/", "https://[64:ff9b::10.0.0.1]/", "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b:1::5db8:d822]/", "https://[2002:7f00:1::1]/", "https://[2002:a9fe:a9fe::]/",
    "https://[2002:c0a8:0101::1]/", "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    # unique local, link-local (with and without a zone), site-local, multicast, documentation, discard
    "https://[fc00::1]/", "https://[fd12:3456:789a::1]/", "https://[fe80::1]/", "https://[fe80::1%25eth0]/",
    "https://[fec0::1]/", "https://[ff02::1]/", "https://[ff0e::1]/", "https://[2001:db8::1]/", "https://[100::1]/",
    # names that are local by definition, whatever DNS says
    "https://localhost/", "https://LOCALHOST./", "https://api.localhost/", "https://db.internal/",
    "https://printer.local/",
]

PUBLIC_URLS = [
    f"https://{PUBLIC_V4}/hooks", "https://[2606:2800:220:1:248:1893:25c8:1946]/hooks",
    "https://[64:ff9b::5db8:d822]/", "https://[2002:5db8:d822::1]/",  # NAT64 and 6to4 of a public IPv4
    "https://hooks.example.com:8443/in?tenant=acme",  # a name DNS answers with a public address (below)
]


def says_why(message: str) -> bool:
    return any(words in message for words in ("public address", "must use https", "four decimal numbers"))


@pytest.fixture
def dns(monkeypatch):
    """The guard's resolver, faked: dns["name"] = [addresses] or a callable giving this moment's answer. Names not
    set don't resolve. dns.asked records every question."""

    class FakeDNS(dict):
        asked: list[str]

    fake = FakeDNS(**{"hooks.example.com": [PUBLIC_V4]})
    fake.asked = []

    def resolve(host: str, port: int) -> list[str]:
        fake.asked.append(host)
        if host not in fake:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = fake[host]
        return list(answer() if callable(answer) else answer)

    monkeypatch.setattr(egress, "resolver", resolve)
    return fake


# The rules, on the guard itself -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_every_spelling_of_an_internal_address_is_refused_without_asking_dns(dns, url):
    with pytest.raises(EgressRefused) as refused:
        egress_check(url)
    assert "public address" in refused.value.message or "four decimal numbers" in refused.value.message
    assert dns.asked == []  # decided from the URL alone


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_https_addresses_pass(dns, url):
    target = egress_check(url)
    assert target.scheme == "https" and target.addresses


@pytest.mark.parametrize("answer", [
    ["127.0.0.1"], ["::1"], ["::ffff:127.0.0.1"], ["169.254.169.254"], ["10.1.2.3"], ["fd00::5"],
    [PUBLIC_V4, "127.0.0.1"],  # one internal answer among public ones is enough to refuse
    ["fe80::1%eth0"], ["not-an-address"],
])
def test_a_name_that_resolves_to_an_internal_address_is_refused(dns, answer):
    dns["innocent.example.net"] = answer
    with pytest.raises(EgressRefused) as refused:
        egress_check("https://innocent.example.net/hooks")
    assert "public address" in refused.value.message
    assert dns.asked == ["innocent.example.net"]


@pytest.mark.parametrize("url,words", [
    (f"http://{PUBLIC_V4}/hooks", "https"), (f"ftp://{PUBLIC_V4}/x", "https"), ("not a url", "https"),
    ("https://", "https"), (f"https://user:pw@{PUBLIC_V4}/hooks", "user name or password"),
    (f"https://{PUBLIC_V4}:99999/", "not valid"), ("https://a..b.example/", "host name"),
])
def test_plain_http_credentials_in_the_url_and_broken_urls_are_refused(dns, url, words):
    with pytest.raises(EgressRefused) as refused:
        egress_check(url)
    assert words in refused.value.message


def test_a_name_without_dns_may_be_saved_but_is_never_called(dns):
    assert egress.egress_refusal("https://not-yet.example.org/x") is None  # its DNS may be set up after
    with pytest.raises(EgressUnreachable):
        egress_request("POST", "https://not-yet.example.org/x", timeout=2)


def test_the_call_connects_to_the_address_that_was_checked_not_to_a_second_dns_answer(dns, monkeypatch):
    """DNS rebinding: the first answer is public, every later one is 127.0.0.1. The guard asks once and connects to
    exactly that answer, so the later answer never matters."""
    import urllib3.util.connection

    answers = iter([[PUBLIC_V4]])
    dns["rebind.example.org"] = lambda: next(answers, ["127.0.0.1"])
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("stopped here: no network in tests")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    with pytest.raises(EgressUnreachable):
        egress_request("POST", "https://rebind.example.org/hooks", timeout=2)
    assert dns.asked == ["rebind.example.org"]
    assert connected == [(PUBLIC_V4, 443)]


def test_the_test_allowance_is_one_exact_origin(allow_test_origin, dns):
    allow_test_origin("http://127.0.0.1:8123")
    assert egress_check("http://127.0.0.1:8123/hooks").addresses == ["127.0.0.1"]
    for neighbour in ("http://127.0.0.1:8124/", "https://127.0.0.1:8123/", "http://localhost:8123/",
                      "http://[::1]:8123/", "http://127.0.0.2:8123/"):
        with pytest.raises(EgressRefused):
            egress_check(neighbour)


def test_production_cannot_switch_the_test_allowance_on_and_the_old_switches_fail_loudly():
    code = "from django.conf import settings; import django; django.setup(); print(repr(settings.EGRESS_TEST_ORIGINS))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "EGRESS_TEST_ORIGINS": "http://127.0.0.1:80"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "()", run.stderr
    for old in ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "WEBHOOK_ALLOW_HTTP", "CONNECTOR_ALLOW_HTTP_BASE_URLS"):
        run = subprocess.run([sys.executable, "-c", code], env={**env, old: "true"}, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode != 0 and f"{old} no longer exists" in run.stderr


# Local listeners that stand in for what an attacker points us at -----------------------------------------------


class Listener:
    """A server on 127.0.0.1 that counts the TCP connections it accepts (before any TLS) and records the HTTP requests
    it reads: what an attacker points us at."""

    def __init__(self, *, tls_pem=None, answer=None):
        self.accepted = 0
        self.requests: list[str] = []
        listener = self
        context = None
        if tls_pem:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_pem)

        class Handler(BaseHTTPRequestHandler):
            def _any(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                listener.requests.append(f"{self.command} {self.path}")
                (answer or _ok)(self)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def get_request(self):
                connection, address = self.socket.accept()
                listener.accepted += 1
                # TLS per connection, after counting: a failed handshake still was a connection.
                return (context.wrap_socket(connection, server_side=True) if context else connection), address

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _ok(handler):
    handler.send_response(200)
    handler.send_header("content-length", "2")
    handler.end_headers()
    handler.wfile.write(b"{}")


def _redirect_to(location: str):
    def answer(handler):
        handler.send_response(307)
        handler.send_header("location", location)
        handler.send_header("content-length", "0")
        handler.end_headers()

    return answer


@pytest.fixture
def listeners():
    started = []

    def start(**kwargs) -> Listener:
        started.append(Listener(**kwargs))
        return started[-1]

    yield start
    for listener in started:
        listener.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_redirect_to_an_internal_address_is_never_followed(listeners, allow_test_origin, dns):
    internal = listeners()
    for location in (f"http://127.0.0.1:{internal.port}/secret", "http://169.254.169.254/latest/meta-data/",
                     "https://[::ffff:127.0.0.1]/"):
        front = listeners(answer=_redirect_to(location))
        response = egress_request("POST", allow_test_origin(f"http://127.0.0.1:{front.port}/hooks"), timeout=5)
        assert response.status_code == 307 and response.headers["location"] == location
        assert front.requests == ["POST /hooks"]
    assert internal.accepted == 0


# Webhooks through the admin API --------------------------------------------------------------------------------


@pytest.fixture
def acme(db):
    return make_webhook_org("Acme")


@pytest.mark.parametrize("url", ["https://[::7f00:1]/hooks", "https://[::ffff:169.254.169.254]/latest/",
                                 "https://0x7f.1/hooks", "https://[64:ff9b::a00:1]/", "https://loopback.example.net/",
                                 "http://hooks.example.com/in"])
def test_the_webhook_api_refuses_an_internal_or_plain_http_receiver_with_a_400(acme, dns, url):
    dns["loopback.example.net"] = ["127.0.0.1"]
    response = client_for(acme.admin).post(tenant_url("webhook-list", acme.org), {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_url" and says_why(response.json()["detail"])
    assert not WebhookEndpoint.objects.exists()


def test_a_receiver_whose_dns_turns_internal_after_it_was_saved_gets_no_request(acme, dns, listeners, tmp_path):
    """The attack from the review: save a public name, then point its DNS at the worker's own loopback, where a
    TLS listener waits. The worker must not even open the connection."""
    _, pem = make_pki(tmp_path, "hooks.example.com")
    attacker = listeners(tls_pem=pem)
    api = client_for(acme.admin)
    created = api.post(tenant_url("webhook-list", acme.org),
                       {"url": f"https://hooks.example.com:{attacker.port}/in"}, format="json")
    assert created.status_code == 201, created.content
    dns["hooks.example.com"] = ["127.0.0.1"]
    event_emit(organization_id=acme.org.pk, event_type="employee.updated", data={"employee": {"id": 1}})
    delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    [entry] = api.get(tenant_url("webhook-deliveries", acme.org, created.json()['id'])).json()["results"]
    assert entry["status"] == "pending" and entry["last_error"] == UNREACHABLE_MESSAGE
    assert attacker.accepted == 0


def test_closed_port_tls_listener_plain_listener_and_refused_address_read_the_same(
        acme, dns, listeners, tmp_path, allow_test_origin, caplog, settings):
    """A port scan through the delivery log learns nothing: each failure below HTTP reads exactly the same to the
    admin, while the server log keeps what happened."""
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = settings.WEBHOOK_READ_TIMEOUT_SECONDS = 2.0
    _, pem = make_pki(tmp_path, "elsewhere.test")
    tls = listeners(tls_pem=pem)  # a TLS service with a certificate for another name
    plain = listeners()  # not TLS at all
    dns["turns-internal.example.com"] = [PUBLIC_V4]
    urls = {
        "closed port": allow_test_origin(f"https://127.0.0.1:{closed_port()}/in"),
        "TLS listener": allow_test_origin(f"https://127.0.0.1:{tls.port}/in"),
        "plain listener": allow_test_origin(f"https://127.0.0.1:{plain.port}/in"),
        "refused address": "https://turns-internal.example.com/in",
        "no DNS any more": "https://gone.example.com/in",
    }
    dns["gone.example.com"] = [PUBLIC_V4]
    api = client_for(acme.admin)
    ids = {}
    for kind, url in urls.items():
        response = api.post(tenant_url("webhook-list", acme.org), {"url": url}, format="json")
        assert response.status_code == 201, (kind, response.content)
        ids[kind] = response.json()["id"]
    dns["turns-internal.example.com"] = ["10.0.0.7"]
    del dns["gone.example.com"]
    event_emit(organization_id=acme.org.pk, event_type="employee.updated", data={"employee": {"id": 1}})
    for delivery in WebhookDelivery.objects.all():
        delivery_attempt(delivery_id=delivery.pk)
    errors = {kind: api.get(tenant_url("webhook-deliveries", acme.org, pk)).json()["results"][0]
              ["last_error"] for kind, pk in ids.items()}
    assert errors == {kind: UNREACHABLE_MESSAGE for kind in urls}
    assert tls.requests == [] and plain.requests == []
    for detail in ("ConnectionError", "SSLError", "must point to a public address", "could not be resolved"):
        assert detail in caplog.text


# Connectors through the admin API ------------------------------------------------------------------------------

GRAPH = {"tenant_id": "contoso", "client_id": "app", "client_secret": "very-secret-value-1"}


@pytest.fixture
def admin_and_employee(org_a):
    admin = make_user(org_a, Role.ADMIN)
    employee = make_employee(org_a, make_user(org_a, Role.EMPLOYEE, email="ada@acme.example"), name="Ada Lovelace")
    headshot = make_headshot(employee, approved=True)
    return admin, employee, headshot


@pytest.mark.parametrize("field", ["base_url", "auth_url"])
@pytest.mark.parametrize("url", ["https://169.254.169.254", "https://[::ffff:127.0.0.1]", "https://2130706433",
                                 "https://[fd00::1]:8443", "https://login.loopback.example.net",
                                 "http://graph.example.com"])
def test_the_connection_api_refuses_internal_base_and_token_urls_with_a_400(org_a, admin_and_employee, dns, field,
                                                                            url):
    dns["login.loopback.example.net"] = ["127.0.0.1"]
    dns["graph.example.com"] = [PUBLIC_V4]
    api = client_for(admin_and_employee[0])
    base = tenant_url("connection-list", org_a)
    response = api.post(base, {"kind": "microsoft_graph", "credentials": GRAPH, field: url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_url" and says_why(response.json()["detail"])
    assert not Connection.objects.exists()
    created = api.post(base, {"kind": "microsoft_graph", "credentials": GRAPH}, format="json")
    assert created.status_code == 201
    changed = api.patch(tenant_url("connection-detail", org_a, created.json()['id']), {field: url}, format="json")
    assert changed.status_code == 400 and changed.json()["code"] == "invalid_url"
    assert getattr(Connection.objects.get(), field) == ""


def _push_once(employee, headshot) -> None:
    row, _ = PhotoSync.objects.get_or_create(organization=employee.organization, employee=employee,
                                             destination=Destination.MICROSOFT_GRAPH)
    row.connection, row.headshot = Connection.objects.get(), headshot
    row.status, row.attempts, row.next_attempt_at = SyncStatus.PENDING, 0, None
    row.save()
    photo_sync_run(row.pk, 0)


def _last_error(api, org) -> str:
    [row] = api.get(tenant_url("photo-sync-list", org)).json()["results"]
    return row["last_error"]


def test_a_connector_whose_dns_turns_internal_after_it_was_saved_never_connects(org_a, admin_and_employee, dns,
                                                                                   listeners, tmp_path):
    """The review's finding: Graph base and token URLs saved as a public name whose DNS then answers 127.0.0.1,
    where the attacker's TLS listener waits for our client secret. The worker must not even connect."""
    admin, employee, headshot = admin_and_employee
    _, pem = make_pki(tmp_path, "graph.sovereign.example")
    attacker = listeners(tls_pem=pem)
    dns["graph.sovereign.example"] = [PUBLIC_V4]
    api = client_for(admin)
    url = f"https://graph.sovereign.example:{attacker.port}"
    created = api.post(tenant_url("connection-list", org_a), {
        "kind": "microsoft_graph", "credentials": GRAPH, "base_url": url, "auth_url": url}, format="json")
    assert created.status_code == 201, created.content
    dns["graph.sovereign.example"] = ["127.0.0.1"]
    _push_once(employee, headshot)
    assert attacker.accepted == 0
    assert _last_error(api, org_a).startswith(f"could not reach Microsoft 365: {UNREACHABLE_MESSAGE}")


def test_a_loopback_connection_url_stored_before_the_guard_is_refused_at_send_time(org_a, admin_and_employee,
                                                                                    listeners, tmp_path):
    """Rows saved while only the scheme was checked are judged again when used: no connection is opened."""
    admin, employee, headshot = admin_and_employee
    _, pem = make_pki(tmp_path, "127.0.0.1")
    attacker = listeners(tls_pem=pem)
    url = f"https://127.0.0.1:{attacker.port}"
    Connection.objects.create(organization=org_a, kind="microsoft_graph", credentials=GRAPH, base_url=url,
                              auth_url=url)  # as the API accepted it before the guard existed
    _push_once(employee, headshot)
    assert attacker.accepted == 0
    assert _last_error(client_for(admin), org_a).startswith(f"could not reach Microsoft 365: {UNREACHABLE_MESSAGE}")


def test_connector_failures_below_http_read_the_same_whatever_listens(org_a, admin_and_employee, dns, listeners,
                                                                      tmp_path, allow_test_origin, settings):
    settings.CONNECTOR_HTTP_TIMEOUT = 3.0
    admin, employee, headshot = admin_and_employee
    _, pem = make_pki(tmp_path, "elsewhere.test")
    tls, plain = listeners(tls_pem=pem), listeners()
    api = client_for(admin)
    base = tenant_url("connection-list", org_a)
    connection = api.post(base, {"kind": "microsoft_graph", "credentials": GRAPH}, format="json").json()
    errors = {}
    # The three listeners stand in for public servers (allowed for this test); the last name turns internal.
    for kind, url in {"closed port": allow_test_origin(f"https://127.0.0.1:{closed_port()}"),
                      "TLS listener": allow_test_origin(f"https://127.0.0.1:{tls.port}"),
                      "plain listener": allow_test_origin(f"https://127.0.0.1:{plain.port}"),
                      "refused address": "https://turns-internal.example.com"}.items():
        dns["turns-internal.example.com"] = [PUBLIC_V4]
        patched = api.patch(tenant_url("connection-detail", org_a, connection["id"]),
                            {"base_url": url, "auth_url": url}, format="json")
        assert patched.status_code == 200, (kind, patched.content)
        dns["turns-internal.example.com"] = ["127.0.0.1"]
        _push_once(employee, headshot)
        errors[kind] = _last_error(api, org_a)
    assert len(set(errors.values())) == 1, errors
    assert next(iter(errors.values())).startswith(f"could not reach Microsoft 365: {UNREACHABLE_MESSAGE}")
    assert tls.requests == [] and plain.requests == []


def test_a_token_endpoint_redirecting_inward_is_not_followed(org_a, admin_and_employee, listeners, allow_test_origin):
    admin, employee, headshot = admin_and_employee
    internal = listeners()
    front = listeners(answer=_redirect_to(f"http://127.0.0.1:{internal.port}/steal"))
    url = allow_test_origin(f"http://127.0.0.1:{front.port}")
    api = client_for(admin)
    created = api.post(tenant_url("connection-list", org_a), {
        "kind": "microsoft_graph", "credentials": GRAPH, "base_url": url, "auth_url": url}, format="json")
    assert created.status_code == 201, created.content
    _push_once(employee, headshot)
    assert front.requests == ["POST /contoso/oauth2/v2.0/token"] and internal.accepted == 0
    [row] = api.get(tenant_url("photo-sync-list", org_a)).json()["results"]
    assert row["status"] == "failed" and row["last_status_code"] == 307
