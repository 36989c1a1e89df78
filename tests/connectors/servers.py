"""Local contract servers, one per destination, that ENFORCE each vendor's documented photo contract.

Each binds 127.0.0.1:0, checks auth, method + path, content type, size and image format exactly as the vendor's
documentation says (the source of each rule is named next to it), can throttle its first N photo calls (429/503
with Retry-After), and keeps what it accepted so tests can decode it. The real connector clients talk HTTP to these.
"""
from __future__ import annotations

import base64
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from PIL import Image

MB = 1024 * 1024


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)


def json_reply(status: int, payload, **headers) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


@dataclass
class Call:
    method: str
    path: str
    status: int
    at: float


@dataclass
class Stored:
    data: bytes
    format: str
    width: int
    height: int
    content_type: str = ""


class Rejected(Exception):
    def __init__(self, reply: Reply):
        self.reply = reply


def decode_image(data: bytes, allowed: tuple[str, ...]) -> Stored:
    """Fully decode the bytes with Pillow; None of the destinations trust a Content-Type alone."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fmt, (width, height) = image.format, image.size
    except Exception:
        raise ValueError("not a decodable image") from None
    if fmt not in allowed:
        raise ValueError(f"{fmt} is not one of {', '.join(allowed)}")
    return Stored(data=data, format=fmt, width=width, height=height)


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str, str, bytes]]:
    """{field: (filename, part content type, bytes)} of a multipart/form-data body (RFC 7578), byte-exact."""
    match = re.match(r'multipart/form-data;.*boundary="?([^";]+)"?', content_type or "")
    if not match:
        raise ValueError("not multipart/form-data")
    delimiter = b"--" + match.group(1).encode()
    parts = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            parts[name.group(1)] = (filename.group(1) if filename else "", headers.get("content-type", ""), data)
    return parts


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        contract: ContractServer = self.server.contract
        try:
            reply = contract.dispatch(self.command, self.path, self.headers, body)
        except Rejected as rejected:
            reply = rejected.reply
        contract.record(self.command, self.path, reply.status)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass


class ContractServer:
    """The shared machinery: a threaded HTTP server, a call log, throttling and the store of accepted photos."""

    throttle_status = 429

    def __init__(self):
        self.calls: list[Call] = []
        self.stored: dict[str, Stored] = {}
        self.deleted: list[str] = []
        self.tokens: set[str] = set()
        self._throttled = 0
        self._retry_after = "1"
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.contract = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def throttle(self, calls: int, *, retry_after: int | str = 1, status: int | None = None) -> None:
        """Answer the next `calls` photo requests with 429 (or `status`) and this Retry-After."""
        self._throttled, self._retry_after = calls, str(retry_after)
        if status is not None:
            self.throttle_status = status

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.calls.append(Call(method, path, status, time.monotonic()))

    def photo_calls(self) -> list[Call]:
        return [call for call in self.calls if self.is_photo_path(call.path)]

    def is_photo_path(self, path: str) -> bool:
        raise NotImplementedError

    def throttled(self) -> Reply | None:
        with self._lock:
            if self._throttled <= 0:
                return None
            self._throttled -= 1
        return self.throttle_reply()

    def throttle_reply(self) -> Reply:
        return json_reply(self.throttle_status,
                          {"error": {"code": self.throttle_status, "message": "Too many requests"}},
                          **{"Retry-After": self._retry_after})

    def issue_token(self, prefix: str = "") -> str:
        token = prefix + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token

    def bearer(self, headers) -> str | None:
        value = headers.get("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else None

    def dispatch(self, method: str, path: str, headers, body: bytes) -> Reply:
        raise NotImplementedError


class GraphServer(ContractServer):
    """Microsoft identity platform token endpoint + Graph profilePhoto.

    Rules and sources:
    - token: POST /{tenant}/oauth2/v2.0/token, form-encoded client_id, client_secret, scope
      https://graph.microsoft.com/.default, grant_type=client_credentials; a wrong secret is 401 invalid_client
      (AADSTS7000215), an unknown tenant/app 400 (learn.microsoft.com/entra/identity-platform/
      v2-oauth2-client-creds-grant-flow, "Error response").
    - photo: PUT or PATCH /v1.0/users/{id | userPrincipalName}/photo/$value with Authorization: Bearer, Content-Type
      image/jpeg and the binary image (not base64), "limited to 4 MB" (learn.microsoft.com/graph/api/
      profilephoto-update); 200 OK on success. DELETE the same path removes it, 204 (graph/api/profilephoto-delete).
    - throttling: 429 with Retry-After (learn.microsoft.com/graph/throttling).
    """

    def __init__(self, *, tenant_id="contoso-tenant", client_id="app-id", client_secret="s3cret",
                 users: set[str] | None = None, max_bytes: int = 4 * MB):
        super().__init__()
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.users, self.max_bytes = users, max_bytes

    def credentials(self) -> dict:
        return {"tenant_id": self.tenant_id, "client_id": self.client_id, "client_secret": self.client_secret}

    def is_photo_path(self, path: str) -> bool:
        return path.startswith("/v1.0/users/")

    def dispatch(self, method, path, headers, body) -> Reply:
        route = urlsplit(path).path
        token_route = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", route)
        if token_route:
            return self.token(method, unquote(token_route.group(1)), headers, body)
        photo_route = re.fullmatch(r"/v1\.0/users/([^/]+)/photo/\$value", route)
        if photo_route:
            return self.photo(method, unquote(photo_route.group(1)), headers, body)
        return json_reply(404, {"error": {"code": "BadRequest",
                                          "message": f"Resource not found for the segment {route}"}})

    def token(self, method, tenant, headers, body) -> Reply:
        if method != "POST" or not (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return json_reply(400, {"error": "invalid_request",
                                    "error_description": "AADSTS900144: POST form expected"})
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if tenant != self.tenant_id:
            return json_reply(400, {"error": "invalid_request",
                                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found."})
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"})
        if form.get("scope") != "https://graph.microsoft.com/.default":
            return json_reply(400, {"error": "invalid_scope",
                                    "error_description": "AADSTS1002012: The provided value for scope is not valid."})
        if form.get("client_id") != self.client_id:
            return json_reply(400, {"error": "unauthorized_client",
                                    "error_description": "AADSTS700016: Application was not found in the directory."})
        if form.get("client_secret") != self.client_secret:
            return json_reply(401, {"error": "invalid_client",
                                    "error_description": "AADSTS7000215: Invalid client secret provided."})
        return json_reply(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": self.issue_token()})

    def photo(self, method, user, headers, body) -> Reply:
        if method not in ("PUT", "PATCH", "DELETE"):
            return json_reply(405, {"error": {"code": "Request_BadRequest", "message": "Method not allowed"}})
        if self.bearer(headers) not in self.tokens:
            return json_reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                              "message": "Access token validation failure. Invalid audience."}})
        if (limited := self.throttled()) is not None:
            return limited
        if self.users is not None and user not in self.users:
            return json_reply(404, {"error": {"code": "Request_ResourceNotFound",
                                              "message": f"Resource '{user}' does not exist."}})
        if method == "DELETE":
            self.stored.pop(user, None)
            self.deleted.append(user)
            return Reply(204)
        if len(body) > self.max_bytes:
            return json_reply(413, {"error": {"code": "RequestEntityTooLarge",
                                              "message": f"The photo is larger than {self.max_bytes} bytes."}})
        if (headers.get("Content-Type") or "").split(";")[0].strip() != "image/jpeg":
            return json_reply(400, {"error": {"code": "ErrorInvalidImage",
                                              "message": "Content-Type must be image/jpeg."}})
        try:
            stored = decode_image(body, ("JPEG",))
        except ValueError as exc:
            return json_reply(400, {"error": {"code": "ErrorInvalidImage", "message": f"The image is invalid: {exc}"}})
        stored.content_type = "image/jpeg"
        self.stored[user] = stored
        return Reply(200, b"", {"ETag": f'W/"{secrets.token_hex(8)}"'})


class GoogleServer(ContractServer):
    """Google OAuth 2.0 token endpoint for service accounts + Admin SDK Directory users.photos.

    Rules and sources:
    - token: POST form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and assertion = a JWT signed RS256 by
      the service account's key, claims iss (its email), scope, aud (the token URL), exp at most one hour after iat,
      sub (the impersonated admin, domain-wide delegation); errors are 400 invalid_grant / 401 unauthorized_client
      (developers.google.com/identity/protocols/oauth2/service-account).
    - photo: PUT /admin/directory/v1/users/{userKey}/photos/thumbnail with Bearer and a JSON UserPhoto; photoData is
      web-safe base64 ("/" replaced with "_", "+" with "-"), mimeType JPEG/PNG/GIF/BMP/TIFF, width and height
      (developers.google.com/workspace/admin/directory/reference/rest/v1/UserPhoto and users.photos/update).
      DELETE removes it (users.photos/delete). Standard base64 with "+" or "/" is refused.
    - quota: 429 with Retry-After (developers.google.com/workspace/admin/directory/v1/limits).
    """

    def __init__(self, *, client_email: str, public_key, admin_email: str = "admin@example.com",
                 users: set[str] | None = None):
        super().__init__()
        self.client_email, self.public_key, self.admin_email, self.users = client_email, public_key, admin_email, users

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def is_photo_path(self, path: str) -> bool:
        return path.startswith("/admin/directory/v1/users/")

    def dispatch(self, method, path, headers, body) -> Reply:
        route = urlsplit(path).path
        if route == "/token":
            return self.token(method, headers, body)
        photo_route = re.fullmatch(r"/admin/directory/v1/users/([^/]+)/photos/thumbnail", route)
        if photo_route:
            return self.photo(method, unquote(photo_route.group(1)), headers, body)
        return self.error(404, "Not Found", "notFound")

    @staticmethod
    def error(status: int, message: str, reason: str) -> Reply:
        return json_reply(status, {"error": {"code": status, "message": message,
                                             "errors": [{"message": message, "domain": "global", "reason": reason}]}})

    def throttle_reply(self) -> Reply:
        reply = self.error(self.throttle_status, "Quota exceeded for quota metric 'Queries'", "rateLimitExceeded")
        reply.headers["Retry-After"] = self._retry_after
        return reply

    def token(self, method, headers, body) -> Reply:
        def grant_error(description, error="invalid_grant", status=400):
            return json_reply(status, {"error": error, "error_description": description})

        if method != "POST":
            return grant_error("POST expected", "invalid_request")
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return grant_error("Invalid grant_type", "unsupported_grant_type")
        parts = form.get("assertion", "").split(".")
        if len(parts) != 3:
            return grant_error("Invalid JWT: malformed")
        try:
            header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2])
            signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except ValueError:
            return grant_error("Invalid JWT: not base64url JSON")
        if header.get("alg") != "RS256":
            return grant_error("Invalid JWT: alg must be RS256")
        try:
            self.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return grant_error("Invalid JWT Signature.")
        now = time.time()
        if claims.get("iss") != self.client_email:
            return grant_error("Invalid JWT: issuer is not the service account")
        if claims.get("aud") != self.token_url:
            return grant_error("Invalid JWT: audience must be the token URL")
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if exp - iat > 3600 or exp < now or iat > now + 300:
            return grant_error("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                               "timeframe. Check your iat and exp values in the JWT claim.")
        if "https://www.googleapis.com/auth/admin.directory.user" not in str(claims.get("scope", "")).split():
            return grant_error("Invalid OAuth scope or ID token audience provided.", "invalid_scope")
        if claims.get("sub") != self.admin_email:
            return grant_error("Client is unauthorized to retrieve access tokens using this method, or client not "
                               "authorized for any of the scopes requested.", "unauthorized_client", 401)
        return json_reply(200, {"access_token": self.issue_token("ya29."), "expires_in": 3599,
                                "token_type": "Bearer"})

    def photo(self, method, user, headers, body) -> Reply:
        if method not in ("PUT", "PATCH", "DELETE"):
            return self.error(405, "Method not allowed", "methodNotAllowed")
        if self.bearer(headers) not in self.tokens:
            return self.error(401, "Request had invalid authentication credentials.", "authError")
        if (limited := self.throttled()) is not None:
            return limited
        if self.users is not None and user not in self.users:
            return self.error(404, "Resource Not Found: userKey", "notFound")
        if method == "DELETE":
            self.stored.pop(user, None)
            self.deleted.append(user)
            return Reply(204)
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            return self.error(400, "Content-Type must be application/json", "parseError")
        try:
            photo = json.loads(body)
        except ValueError:
            return self.error(400, "Parse Error", "parseError")
        data = photo.get("photoData")
        if not isinstance(data, str) or not data:
            return self.error(400, "Invalid Input: photoData", "invalid")
        if "+" in data or "/" in data or not re.fullmatch(r"[A-Za-z0-9_\-]*[=*.]*", data):
            return self.error(400, "Invalid value for ByteString: photoData must be web-safe base64", "invalid")
        raw = base64.urlsafe_b64decode(data.rstrip("=*.") + "=" * (-len(data.rstrip("=*.")) % 4))
        mime = str(photo.get("mimeType", ""))
        formats = {"JPEG": "JPEG", "IMAGE/JPEG": "JPEG", "PNG": "PNG", "IMAGE/PNG": "PNG", "GIF": "GIF",
                   "IMAGE/GIF": "GIF", "BMP": "BMP", "IMAGE/BMP": "BMP", "TIFF": "TIFF", "IMAGE/TIFF": "TIFF"}
        if mime.upper() not in formats:
            return self.error(400, f"Invalid Input: mimeType {mime!r}", "invalid")
        try:
            stored = decode_image(raw, (formats[mime.upper()],))
        except ValueError as exc:
            return self.error(400, f"Invalid Input: photoData ({exc})", "invalid")
        for name, actual in (("width", stored.width), ("height", stored.height)):
            if name in photo and photo[name] != actual:
                return self.error(400, f"Invalid Input: {name} {photo[name]} but the image is {actual}", "invalid")
        stored.content_type = mime
        self.stored[user] = stored
        return json_reply(200, {"kind": "admin#directory#user#photo", "id": f"1{abs(hash(user)) % 10**12}",
                                "etag": f'"{secrets.token_hex(8)}"', "primaryEmail": user, "mimeType": mime,
                                "width": stored.width, "height": stored.height, "photoData": data})


class SlackServer(ContractServer):
    """Slack Web API: users.setPhoto, users.deletePhoto and the OAuth v2 flow that yields a user token.

    Rules and sources:
    - users.setPhoto: POST multipart/form-data, field `image`, token as Bearer (or a `token` field); a user token
      (xoxp-) with users.profile:write; JPEG, GIF or PNG ("bad_image" otherwise), at most 1024x1024 px
      ("too_large": excessive dimensions), 512x512 the minimum; errors as HTTP 200 {"ok": false, "error": ...}
      (not_authed, invalid_auth, not_allowed_token_type) (docs.slack.dev/reference/methods/users.setPhoto).
    - users.deletePhoto: POST, the same user token and scope, no arguments; removes the person's photo
      (docs.slack.dev/reference/methods/users.deletePhoto).
    - rate limits: HTTP 429 with Retry-After (docs.slack.dev/apis/web-api/rate-limits).
    - OAuth v2: /oauth/v2/authorize?client_id&user_scope&state&redirect_uri sends the person back to redirect_uri
      with code and state; oauth.v2.access exchanges the code once (client id/secret as Basic auth or form fields,
      the same redirect_uri) for authed_user.access_token (docs.slack.dev/authentication/installing-with-oauth,
      /reference/methods/oauth.v2.access: invalid_code, bad_redirect_uri, invalid_client_id, bad_client_secret).
    """

    def __init__(self, *, client_id="123.456", client_secret="slack-secret", team_id="T0ACME"):
        super().__init__()
        self.client_id, self.client_secret, self.team_id = client_id, client_secret, team_id
        self.codes: dict[str, str] = {}
        self.users: dict[str, str] = {}  # token -> Slack user id
        self.max_side, self.min_side = 1024, 512

    def is_photo_path(self, path: str) -> bool:
        return urlsplit(path).path == "/api/users.setPhoto"

    def user_token(self, user_id: str = "U0ADA") -> str:
        token = self.issue_token("xoxp-")
        self.users[token] = user_id
        return token

    def throttle_reply(self) -> Reply:
        return json_reply(429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": self._retry_after})

    def dispatch(self, method, path, headers, body) -> Reply:
        parts = urlsplit(path)
        if parts.path == "/oauth/v2/authorize" and method == "GET":
            return self.authorize({k: v[0] for k, v in parse_qs(parts.query).items()})
        if parts.path == "/api/oauth.v2.access" and method == "POST":
            return self.oauth_access(headers, body)
        if parts.path == "/api/users.setPhoto" and method == "POST":
            return self.set_photo(headers, body)
        if parts.path == "/api/users.deletePhoto" and method == "POST":
            return self.delete_photo(headers)
        return json_reply(404, {"ok": False, "error": "unknown_method"})

    def authorize(self, query: dict) -> Reply:
        """The person approves on Slack's consent page: back to redirect_uri with a one-time code and the state."""
        if query.get("client_id") != self.client_id:
            return Reply(400, b"invalid_client_id")
        if "users.profile:write" not in query.get("user_scope", "").split(","):
            return Reply(400, b"invalid_scope")
        if not query.get("state") or not query.get("redirect_uri"):
            return Reply(400, b"missing state or redirect_uri")
        code = secrets.token_urlsafe(16)
        self.codes[code] = query["redirect_uri"]
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return Reply(302, b"", {"Location": location})

    def oauth_access(self, headers, body) -> Reply:
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id:
            return json_reply(200, {"ok": False, "error": "invalid_client_id"})
        if client_secret != self.client_secret:
            return json_reply(200, {"ok": False, "error": "bad_client_secret"})
        redirect_uri = self.codes.pop(form.get("code", ""), None)
        if redirect_uri is None:
            return json_reply(200, {"ok": False, "error": "invalid_code"})
        if form.get("redirect_uri") != redirect_uri:
            return json_reply(200, {"ok": False, "error": "bad_redirect_uri"})
        token = self.user_token("U0" + secrets.token_hex(4).upper())
        return json_reply(200, {"ok": True, "app_id": "A0PHOTOS", "authed_user": {
            "id": self.users[token], "scope": "users.profile:write", "access_token": token, "token_type": "user"},
            "team": {"id": self.team_id, "name": "Acme"}, "enterprise": None, "is_enterprise_install": False})

    def refuse_user(self, token: str | None) -> Reply | None:
        """Slack's answer when `token` is no user token of ours (or the caller is throttled); None lets it in."""
        if not token:
            return json_reply(200, {"ok": False, "error": "not_authed"})
        if token not in self.users:
            error = "not_allowed_token_type" if token.startswith(("xoxb-", "xoxa-")) else "invalid_auth"
            return json_reply(200, {"ok": False, "error": error})
        return self.throttled()

    def delete_photo(self, headers) -> Reply:
        token = self.bearer(headers)
        if (refused := self.refuse_user(token)) is not None:
            return refused
        if self.stored.pop(self.users[token], None) is not None:
            self.deleted.append(self.users[token])
        return json_reply(200, {"ok": True})

    def set_photo(self, headers, body) -> Reply:
        content_type = headers.get("Content-Type") or ""
        try:
            form = parse_multipart(content_type, body)
        except ValueError:
            form = None
        token = self.bearer(headers) or (form or {}).get("token", ("", "", b""))[2].decode() or None
        if (refused := self.refuse_user(token)) is not None:
            return refused
        if form is None or "image" not in form:
            return json_reply(200, {"ok": False, "error": "invalid_form_data"})
        try:
            stored = decode_image(form["image"][2], ("JPEG", "PNG", "GIF"))
        except ValueError:
            return json_reply(200, {"ok": False, "error": "bad_image"})
        if stored.width > self.max_side or stored.height > self.max_side:
            return json_reply(200, {"ok": False, "error": "too_large"})
        if stored.width < self.min_side or stored.height < self.min_side:
            return json_reply(200, {"ok": False, "error": "bad_image"})
        stored.content_type = form["image"][1]
        self.stored[self.users[token]] = stored
        return json_reply(200, {"ok": True, "profile": {"avatar_hash": secrets.token_hex(6)}})


class BambooHRServer(ContractServer):
    """BambooHR "Store a new employee photo".

    Rules and sources (documentation.bamboohr.com/reference/upload-employee-photo unless noted):
    - POST /api/gateway.php/{companyDomain}/v1/employees/{employeeId}/photo, multipart/form-data field `file`.
    - HTTP Basic auth, the API key as the user name and any password (documentation.bamboohr.com/docs/
      getting-started, "Authentication"); 401 otherwise.
    - "The width and height of the photo must be the same", "jpg, gif, or png", "may not be larger than 20MB";
      at least 150 px (the "small" size it derives, reference/get-employee-photo-1). Errors carry
      X-BambooHR-Error-Message (documentation.bamboohr.com/docs/api-details, "Errors").
    - throttling: 429 with Retry-After since 2026-09-16, 503 before (documentation.bamboohr.com/docs/
      planned-changes-to-the-api; docs/api-details: "always be ready for a 503"); both are served here.
    """

    def __init__(self, *, company="acme", api_key="bamboo-key", employees: set[str] | None = None,
                 max_bytes: int = 20 * MB, min_side: int = 150):
        super().__init__()
        self.company, self.api_key, self.employees = company, api_key, employees
        self.max_bytes, self.min_side = max_bytes, min_side

    def credentials(self) -> dict:
        return {"company_domain": self.company, "api_key": self.api_key}

    def is_photo_path(self, path: str) -> bool:
        return "/photo" in path

    def throttle_reply(self) -> Reply:
        return Reply(self.throttle_status, b"", {"Retry-After": self._retry_after,
                                                 "X-BambooHR-Error-Message": "Rate limit exceeded"})

    @staticmethod
    def error(status: int, message: str) -> Reply:
        return Reply(status, b"", {"X-BambooHR-Error-Message": message})

    def dispatch(self, method, path, headers, body) -> Reply:
        route = re.fullmatch(r"/api/gateway\.php/([^/]+)/v1/employees/([^/]+)/photo/?", urlsplit(path).path)
        if route is None or method != "POST":
            return self.error(404, "Not found")
        auth = headers.get("Authorization") or ""
        user = base64.b64decode(auth[6:]).decode().partition(":")[0] if auth.startswith("Basic ") else None
        if user != self.api_key:
            return Reply(401, b"", {"WWW-Authenticate": 'Basic realm="BambooHR"',
                                    "X-BambooHR-Error-Message": "Invalid API key"})
        company, employee = unquote(route.group(1)), unquote(route.group(2))
        if company != self.company:
            return self.error(404, "Company not found")
        if (limited := self.throttled()) is not None:
            return limited
        if len(body) > self.max_bytes:
            return self.error(413, f"The photo file may not be larger than {self.max_bytes // MB}MB")
        if self.employees is not None and employee not in self.employees:
            return self.error(404, f"Employee {employee} not found")
        try:
            form = parse_multipart(headers.get("Content-Type") or "", body)
        except ValueError:
            return self.error(400, "Expected multipart/form-data")
        if "file" not in form:
            return self.error(400, "No file was uploaded in the 'file' field")
        try:
            stored = decode_image(form["file"][2], ("JPEG", "GIF", "PNG"))
        except ValueError:
            return self.error(400, "The source photo must be a jpg, gif, or png")
        if stored.width != stored.height:
            return self.error(400, "The width and height of the photo must be the same number of pixels")
        if stored.width < self.min_side:
            return self.error(400, f"The photo must be at least {self.min_side}x{self.min_side} pixels")
        stored.content_type = form["file"][1]
        self.stored[employee] = stored
        return Reply(201)
