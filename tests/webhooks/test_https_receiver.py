"""Over TLS: the request goes to the address that was checked, and the certificate is verified for the host name."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

from config.egress import UNREACHABLE_MESSAGE
from tests.webhooks.factories import make_webhook_org
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import delivery_attempt, endpoint_create, event_emit

pytestmark = pytest.mark.django_db


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(tmp_path, server_name: str):
    """A throwaway CA (its PEM is the receiver's trust bundle) and a server certificate for `server_name`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(_name(server_name)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tmp_path / "ca.pem", tmp_path / "server.pem"


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 whose certificate is for `hooks.test`, a name no DNS server knows."""
    ca, server_pem = make_pki(tmp_path, "hooks.test")
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield ca, server.server_address[1], got
    server.shutdown()
    server.server_close()


@pytest.fixture
def resolver(monkeypatch):
    """DNS for `hooks.test` answers 127.0.0.1; every name asked is recorded."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        return real("127.0.0.1" if host == "hooks.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def deliver_one(organization) -> WebhookDelivery:
    event_emit(organization_id=organization.pk, event_type="employee.updated", data={"employee": {"id": 1}})
    delivery = WebhookDelivery.objects.get()
    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_https_delivery_connects_to_the_checked_address_and_verifies_the_host_name(settings, tls_receiver, resolver,
                                                                                   allow_test_origin):
    ca, port, got = tls_receiver
    allow_test_origin(f"https://hooks.test:{port}")  # 127.0.0.1 stands in for a public address here
    settings.WEBHOOK_CA_BUNDLE = str(ca)
    acme = make_webhook_org("Acme")
    endpoint = endpoint_create(organization=acme.org, url=f"https://hooks.test:{port}/in")
    resolver.clear()
    delivery = deliver_one(acme.org)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.last_status_code == 204, delivery.last_error
    # The name was resolved once, by the check; the connection went to that answer, not to a second lookup.
    assert resolver.count("hooks.test") == 1
    [(headers, body)] = got
    assert headers["host"] == f"hooks.test:{port}"
    assert Webhook(endpoint.secret).verify(body, headers)["type"] == "employee.updated"


def test_a_certificate_for_another_name_is_refused(settings, tls_receiver, resolver, allow_test_origin, caplog):
    ca, port, got = tls_receiver
    settings.WEBHOOK_CA_BUNDLE = str(ca)
    acme = make_webhook_org("Acme")
    # localhost reaches the same server, whose certificate is not for localhost.
    endpoint_create(organization=acme.org, url=allow_test_origin(f"https://localhost:{port}/in"))
    delivery = deliver_one(acme.org)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    # The admin reads the one sentence every failed connection gets; the TLS details are in the server log.
    assert delivery.last_error == UNREACHABLE_MESSAGE
    assert "SSLError" in caplog.text and "localhost" in caplog.text
    assert got == []


def test_an_untrusted_certificate_is_refused(settings, tls_receiver, resolver, allow_test_origin, caplog):
    ca, port, got = tls_receiver  # WEBHOOK_CA_BUNDLE left empty: the public CAs don't know this one
    acme = make_webhook_org("Acme")
    endpoint_create(organization=acme.org, url=allow_test_origin(f"https://hooks.test:{port}/in"))
    delivery = deliver_one(acme.org)
    assert delivery.last_error == UNREACHABLE_MESSAGE and got == []
    assert "certificate verify failed" in caplog.text
