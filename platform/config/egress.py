"""The one way the platform calls a URL that a customer chose (webhook receivers, connector base and token URLs):
https to public addresses only, connected to the very address that was checked, redirects never followed, and
failures told in one sentence that says nothing about the network behind us (details go to the server log).

Why each rule: an organization's admin controls these URLs. Without the guard the worker opens connections into
our own network (cloud metadata at 169.254.169.254, databases on loopback) and its error messages (TLS error vs
connection refused) probe which internal ports are open.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The only text a customer sees when a call did not happen or failed below HTTP: the same whether the address was
# refused, the port closed, nothing answered or TLS failed, so the error can't be used to map our network.
UNREACHABLE_MESSAGE = "No verified HTTPS connection could be made to this URL."

_V4_REFUSED = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # private (RFC 1918)
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, where clouds serve instance metadata and credentials
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast
    "198.18.0.0/15",  # benchmarking
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address
))
# IPv6 destinations must be global unicast (2000::/3): that alone refuses ::1, ::, IPv4-compatible (::7f00:1),
# IPv4-mapped (::ffff:127.0.0.1), IPv4-translated, the local-use NAT64 prefix 64:ff9b:1::/48, discard-only,
# unique local fc00::/7, link-local fe80::/10, site-local and multicast ff00::/8. Inside 2000::/3 these are not public:
_V6_REFUSED = tuple(ipaddress.IPv6Network(n) for n in (
    "2001::/23",  # IETF protocol assignments: Teredo 2001::/32 (tunnels to any IPv4), benchmarking, ORCHID
    "2001:db8::/32", "3fff::/20",  # documentation
))
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# Addresses that carry an IPv4 address inside: judged by the IPv4 address they lead to.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
# WHATWG URL: a host whose last label is a number is an IPv4 address, in whatever spelling (2130706433, 0x7f.1,
# 0177.0.0.1). Parsers disagree on those spellings, so only the canonical dotted quad is accepted.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


def address_is_public(ip: IPAddress) -> bool:
    """Whether connecting to this address leaves our own network: every spelling of loopback, private, link-local,
    shared, reserved, multicast and unspecified addresses is refused, IPv4 inside IPv6 included."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        if ip in _NAT64_WELL_KNOWN:
            return address_is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _SIX_TO_FOUR:
            return address_is_public(ip.sixtofour)
        return ip in _V6_GLOBAL_UNICAST and not any(ip in net for net in _V6_REFUSED) and ip.is_global
    return not any(ip in net for net in _V4_REFUSED) and ip.is_global


class EgressRefused(Exception):
    """The URL may not be called; `message` says why, for the admin who typed it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EgressUnreachable(Exception):
    """A call did not happen or failed below HTTP. `message` is always UNREACHABLE_MESSAGE; the reason is logged."""

    def __init__(self):
        super().__init__(UNREACHABLE_MESSAGE)
        self.message = UNREACHABLE_MESSAGE


# host name, port -> the addresses it resolves to. Tests replace it to make a name resolve where they want.
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


resolver: Resolver = system_resolver


@dataclass(frozen=True)
class Target:
    """A URL that passed the guard and the addresses it was checked at (IPv4 first; empty when not resolved)."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) form, lower case, no trailing dot; what TLS verifies and the Host header names
    port: int
    explicit_port: bool
    addresses: list[str] = field(default_factory=list)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host


def _origin(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def _test_origins() -> set[str]:
    allowed = set()
    for entry in settings.EGRESS_TEST_ORIGINS:
        parts = urlsplit(entry)
        allowed.add(_origin(parts.scheme, (parts.hostname or "").rstrip("."),
                            parts.port or (443 if parts.scheme == "https" else 80)))
    return allowed


def _literal(host: str) -> IPAddress | None:
    """The address a host spells, None for a name; EgressRefused for an ambiguous numeric spelling."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        if not _DOTTED_QUAD.match(host):
            raise EgressRefused(_("Write an IPv4 address as four decimal numbers (like 203.0.113.7)."))
    return None


def _public(address: str) -> bool:
    try:
        return address_is_public(ipaddress.ip_address(address))
    except ValueError:
        return False  # not an address at all (a resolver's odd answer): never connect to it


def egress_check(url: str, *, resolve: bool = True) -> Target:
    """The Target this URL may be called at, or EgressRefused saying why not.

    resolve=False (saving a URL while its DNS may not exist yet) checks what the URL itself says, and the name's
    addresses only when it resolves; the call itself always resolves and checks again, then connects to exactly
    the address checked (see egress_call), so DNS answers that change in between gain nothing.
    """
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise EgressRefused(_("The URL is not valid.")) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EgressRefused(_("The URL must be an absolute https:// URL."))
    if parts.username is not None or parts.password is not None:
        raise EgressRefused(_("The URL must not contain a user name or password."))
    try:
        host = parts.hostname.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise EgressRefused(_("The URL's host name is not valid.")) from None
    if "%" in host:
        raise EgressRefused(_("The URL must point to a public address."))  # an IPv6 zone: a local interface
    target_port = port or (443 if parts.scheme == "https" else 80)
    allowed_for_tests = _origin(parts.scheme, host, target_port) in _test_origins()
    if parts.scheme != "https" and not allowed_for_tests:
        raise EgressRefused(_("The URL must use https."))
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        if not _HOST_NAME.match(host):
            raise EgressRefused(_("The URL's host name is not valid."))
        if not allowed_for_tests and (host == "localhost" or host.endswith((".localhost", ".local", ".internal"))):
            raise EgressRefused(_("The URL must point to a public address."))
        try:
            addresses = list(dict.fromkeys(resolver(host, target_port)))
        except (OSError, UnicodeError):
            addresses = []
        if not addresses and resolve:
            raise EgressRefused(_("The host name could not be resolved."))
    # Every address the name has must be public: a name answering 127.0.0.1 next to a public address is refused.
    if not allowed_for_tests and not all(_public(a) for a in addresses):
        raise EgressRefused(_("The URL must point to a public address (private, loopback, link-local and other "
                              "internal addresses are refused)."))
    return Target(url=url, scheme=parts.scheme, host=host, port=target_port, explicit_port=port is not None,
                  addresses=sorted(addresses, key=lambda a: ":" in a))


def egress_refusal(url: str) -> str | None:
    """Why this URL may not be saved (checked without needing DNS to answer), or None."""
    try:
        egress_check(url, resolve=False)
    except EgressRefused as refused:
        return refused.message
    return None


class _PinnedHostAdapter(HTTPAdapter):
    """Connects to the checked address while TLS still sends and verifies the URL's host name (SNI, certificate)."""

    def __init__(self, hostname: str):
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


@contextmanager
def egress_call(method: str, url: str, *, timeout, verify: bool | str = True, headers: dict | None = None,
                **kwargs) -> Iterator[requests.Response]:
    """One HTTP call under the guard, as a context (the response may be streamed inside it).

    Resolves once, checks every address, connects to the first; never follows redirects (a 3xx is the answer)
    and ignores proxies and .netrc from the environment. EgressUnreachable for anything that is not an HTTP
    answer: a refused URL, a failed lookup, a closed port, a timeout or a TLS failure, all alike.
    """
    try:
        target = egress_check(url)
    except EgressRefused as refused:
        log.warning("egress refused for %s: %s", _safe(url), refused.message)
        raise EgressUnreachable() from None
    parts = urlsplit(url.strip())
    address = target.addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{netloc}:{target.port}", parts.path or "/", parts.query, ""))
    with requests.Session() as session:
        session.trust_env = False
        session.mount("https://", _PinnedHostAdapter(target.host))
        session.mount("http://", HTTPAdapter(max_retries=0))
        try:
            with session.request(method, pinned, headers={**(headers or {}), "Host": target.host_header},
                                 timeout=timeout, verify=verify, allow_redirects=False, **kwargs) as response:
                yield response
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # OSError and urllib3's own errors: a streamed body read inside the context fails below requests.
            log.warning("egress to %s (%s) failed: %s: %s", _safe(url), address, type(exc).__name__, exc)
            raise EgressUnreachable() from None


def egress_request(method: str, url: str, *, timeout, **kwargs) -> requests.Response:
    """egress_call for an answer read whole (not streamed)."""
    with egress_call(method, url, timeout=timeout, **kwargs) as response:
        response.content  # noqa: B018 (read it while the connection is open)
        return response


def _safe(url: str) -> str:
    """The URL for the log without its query (tokens travel there)."""
    try:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    except ValueError:
        return "<invalid URL>"
