"""An offline SAML 2.0 identity provider for tests: its own RSA key and certificate, signed responses, a local SSO
server.

Signing goes through python3-saml's `OneLogin_Saml2_Utils.add_sign` (xmlsec), so the service provider under test
checks real XML signatures.

Example (a browser or live-server test). PUBLIC_BASE_URL must be the live server's URL so the ACS URL and audience
match, and over plain http the session/CSRF cookies must not be Secure-only::

    from sso.services import idp_config_save
    from tests.saml_idp import TestIdP, serve

    idp = TestIdP()
    server = serve(idp, ["ada@acme.example"])        # also points idp.sso_url at the server
    try:
        settings.PUBLIC_BASE_URL = live_server.url
        settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
        idp_config_save(organization=org, metadata_xml=idp.metadata_xml(), preset="custom",
                        allowed_domains=["acme.example"], enabled=True)
        page.goto(f"{live_server.url}/sso/{org.slug}/login?next=/app/")
        # -> the IdP's server answers with an auto-submitting form that POSTs SAMLResponse to /sso/<slug>/acs,
        #    which signs ada@acme.example in and redirects to /app/.
    finally:
        server.stop()

Without a server, `idp.response(acs_url=..., audience=..., email=...)` gives the base64 SAMLResponse to POST to the
ACS yourself (IdP-initiated, or SP-initiated with `in_response_to=`).
"""
from __future__ import annotations

import base64
import html
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    # XML IDs must not start with a digit.
    return "_" + uuid.uuid4().hex


def _key_and_cert(common_name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


class TestIdP:
    """One identity provider: entity ID, SSO URL, a fresh signing key and self-signed certificate."""

    __test__ = False  # not a pytest test class

    def __init__(self, entity_id: str | None = None, sso_url: str = "https://idp.test/sso"):
        self.entity_id = entity_id or f"https://idp.test/{uuid.uuid4().hex[:8]}/metadata"
        self.sso_url = sso_url
        self.key_pem, self.cert_pem = _key_and_cert("Test IdP")

    @property
    def cert_base64(self) -> str:
        """The certificate's base64 body (no PEM armour), as metadata and IdP settings carry it."""
        return "".join(line for line in self.cert_pem.splitlines() if "CERTIFICATE" not in line)

    def metadata_xml(self, *, sso_url: str | None = None, include_cert: bool = True) -> str:
        key_descriptor = (
            '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f"{self.cert_base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        ) if include_cert else ""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID={quoteattr(self.entity_id)}>'
            '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f"{key_descriptor}"
            f"<md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>"
            f'<md:SingleSignOnService Binding="{REDIRECT_BINDING}" Location={quoteattr(sso_url or self.sso_url)}/>'
            "</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    def response(self, *, acs_url: str, audience: str, email: str, in_response_to: str | None = None,
                 attributes: dict[str, str | list[str]] | None = None, not_before: datetime | None = None,
                 not_on_or_after: datetime | None = None, assertion_id: str | None = None,
                 sign_assertion: bool = True, sign_response: bool = False,
                 key: TestIdP | str | None = None, name_id: str | None = None) -> str:
        """A base64 SAMLResponse for `email`. `key`: another TestIdP (or its key PEM) signs instead ("wrong key").

        `attributes` default to {"email": email}; pass {} for none. Times default to a window around now.
        """
        return base64.b64encode(self.response_xml(
            acs_url=acs_url, audience=audience, email=email, in_response_to=in_response_to, attributes=attributes,
            not_before=not_before, not_on_or_after=not_on_or_after, assertion_id=assertion_id,
            sign_assertion=sign_assertion, sign_response=sign_response, key=key, name_id=name_id,
        ).encode()).decode()

    def response_xml(self, *, acs_url: str, audience: str, email: str, in_response_to: str | None = None,
                     attributes: dict[str, str | list[str]] | None = None, not_before: datetime | None = None,
                     not_on_or_after: datetime | None = None, assertion_id: str | None = None,
                     sign_assertion: bool = True, sign_response: bool = False,
                     key: TestIdP | str | None = None, name_id: str | None = None) -> str:
        now = datetime.now(UTC)
        not_before = not_before or now - timedelta(minutes=1)
        not_on_or_after = not_on_or_after or now + timedelta(minutes=5)
        attributes = {"email": email} if attributes is None else attributes
        key_pem, cert_pem = self._signing_material(key)
        irt = f" InResponseTo={quoteattr(in_response_to)}" if in_response_to else ""
        attribute_xml = "".join(
            f'<saml:Attribute Name={quoteattr(name)} '
            'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">'
            + "".join(f'<saml:AttributeValue xsi:type="xs:string">{escape(v)}</saml:AttributeValue>'
                      for v in ([values] if isinstance(values, str) else values))
            + "</saml:Attribute>"
            for name, values in attributes.items()
        )
        statement = f"<saml:AttributeStatement>{attribute_xml}</saml:AttributeStatement>" if attributes else ""
        assertion = (
            f'<saml:Assertion xmlns:saml="{SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'ID={quoteattr(assertion_id or _new_id())} Version="2.0" IssueInstant="{_instant(now)}">'
            f"<saml:Issuer>{escape(self.entity_id)}</saml:Issuer>"
            "<saml:Subject>"
            f'<saml:NameID Format="{EMAIL_FORMAT}">{escape(name_id or email)}</saml:NameID>'
            '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData NotOnOrAfter="{_instant(not_on_or_after)}" '
            f"Recipient={quoteattr(acs_url)}{irt}/>"
            "</saml:SubjectConfirmation></saml:Subject>"
            f'<saml:Conditions NotBefore="{_instant(not_before)}" NotOnOrAfter="{_instant(not_on_or_after)}">'
            f"<saml:AudienceRestriction><saml:Audience>{escape(audience)}</saml:Audience></saml:AudienceRestriction>"
            "</saml:Conditions>"
            f'<saml:AuthnStatement AuthnInstant="{_instant(now)}" SessionIndex="{_new_id()}">'
            "<saml:AuthnContext><saml:AuthnContextClassRef>"
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
            f"{statement}</saml:Assertion>"
        )
        if sign_assertion:
            assertion = OneLogin_Saml2_Utils.add_sign(assertion, key_pem, cert_pem).decode()
        assertion = assertion.removeprefix('<?xml version="1.0"?>').strip()
        response = (
            f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{_new_id()}" Version="2.0" '
            f'IssueInstant="{_instant(now)}" Destination={quoteattr(acs_url)}{irt}>'
            f"<saml:Issuer>{escape(self.entity_id)}</saml:Issuer>"
            '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
            f"{assertion}</samlp:Response>"
        )
        if sign_response:
            response = OneLogin_Saml2_Utils.add_sign(response, key_pem, cert_pem).decode()
        return response

    def _signing_material(self, key: TestIdP | str | None) -> tuple[str, str]:
        if key is None:
            return self.key_pem, self.cert_pem
        if isinstance(key, TestIdP):
            return key.key_pem, key.cert_pem
        # A bare key PEM: xmlsec only needs a certificate to embed, so ours will do (it won't match the key).
        return key, self.cert_pem


def decode_redirect_request(saml_request: str) -> etree._Element:
    """The HTTP-Redirect binding: base64 of raw DEFLATE of the AuthnRequest XML."""
    xml = zlib.decompress(base64.b64decode(saml_request), -15)
    return etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))


@dataclass
class ReceivedRequest:
    id: str
    acs_url: str
    issuer: str
    relay_state: str | None


@dataclass
class IdPServer:
    idp: TestIdP
    users: list[str]
    httpd: ThreadingHTTPServer
    thread: threading.Thread
    # The user the next login signs in as (unless the request says ?as=...).
    user: str | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def sso_url(self) -> str:
        return f"{self.url}/sso"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def serve(idp: TestIdP, users: list[str] | str) -> IdPServer:
    """Serve `idp`'s SSO endpoint (HTTP-Redirect AuthnRequests) on 127.0.0.1, on a free port, in a thread.

    GET /sso?SAMLRequest=...&RelayState=...[&as=email] answers with a page whose form POSTs a signed SAMLResponse
    (InResponseTo = the request's ID) and the RelayState to the request's ACS URL. The user is `as` if given (it
    must be one of `users`), else `server.user`, else the first of `users`. Sets `idp.sso_url` to the server.
    """
    users = [users] if isinstance(users, str) else list(users)
    holder: dict[str, IdPServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # keep test output quiet
            pass

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            server = holder["server"]
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path != "/sso" or "SAMLRequest" not in query:
                return self._send(404, "<h1>Not found</h1>")
            try:
                request = decode_redirect_request(query["SAMLRequest"])
            except Exception as exc:  # a broken request is the SP's bug: show it, don't crash the thread
                return self._send(400, f"<h1>Bad SAMLRequest</h1><p>{html.escape(str(exc))}</p>")
            issuer = request.findtext(f"{{{SAML}}}Issuer") or ""
            received = ReceivedRequest(id=request.get("ID"), acs_url=request.get("AssertionConsumerServiceURL"),
                                       issuer=issuer, relay_state=query.get("RelayState"))
            server.requests.append(received)
            email = query.get("as") or server.user or users[0]
            if email not in users:
                return self._send(403, f"<h1>Unknown user {html.escape(email)}</h1>")
            saml_response = idp.response(acs_url=received.acs_url, audience=issuer, email=email,
                                         in_response_to=received.id)
            relay = (f'<input type="hidden" name="RelayState" value="{html.escape(received.relay_state)}">'
                     if received.relay_state is not None else "")
            self._send(200, (
                "<!doctype html><html><head><title>Test IdP</title></head>"
                '<body onload="document.forms[0].submit()">'
                f'<form method="post" action="{html.escape(received.acs_url)}">'
                f'<input type="hidden" name="SAMLResponse" value="{saml_response}">{relay}'
                '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
            ))

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="test-idp", daemon=True)
    server = IdPServer(idp=idp, users=users, httpd=httpd, thread=thread)
    holder["server"] = server
    thread.start()
    idp.sso_url = server.sso_url
    return server
