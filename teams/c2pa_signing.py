"""C2PA Content Credentials on delivered images: a signed manifest saying the image was created by an AI system.

Off until `C2PA_SIGN_CERT` and `C2PA_SIGN_KEY` name a certificate chain (PEM, end-entity first) and its private key;
naming only one of them is a configuration error, not a silent fallback. The XMP label (labels.py) is there either way.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .labels import PRODUCT, TRAINED_ALGORITHMIC_MEDIA

CLAIM_GENERATOR_VERSION = "1"
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
# What a manifest adds to a file without a thumbnail: about 3 kB measured for ES256 (JUMBF boxes, claim, actions,
# hash binding, COSE signature with a two-certificate chain); a timestamp token adds several kB more.
_MANIFEST_OVERHEAD = 8 * 1024
_TIMESTAMP_OVERHEAD = 12 * 1024


@dataclass(frozen=True)
class SigningConfig:
    cert_chain: bytes
    private_key: bytes
    alg: str
    tsa_url: str | None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.cert_chain + b"\0" + self.alg.encode() + b"\0" +
                              (self.tsa_url or "").encode()).hexdigest()


def signing_config() -> SigningConfig | None:
    """The configured certificate, key and algorithm; None when C2PA signing is off."""
    cert_path = getattr(settings, "C2PA_SIGN_CERT", "") or ""
    key_path = getattr(settings, "C2PA_SIGN_KEY", "") or ""
    if not cert_path and not key_path:
        return None
    if not cert_path or not key_path:
        raise ImproperlyConfigured("C2PA signing needs both C2PA_SIGN_CERT and C2PA_SIGN_KEY (or neither).")
    alg = (getattr(settings, "C2PA_SIGN_ALG", "") or "es256").lower()
    if alg not in _ALGORITHMS:
        raise ImproperlyConfigured(f"C2PA_SIGN_ALG must be one of {', '.join(_ALGORITHMS)}, not {alg!r}.")
    try:
        # Keyed by the files' size and mtime: ETags ask for this per image, and a renewed certificate is picked up.
        stamps = tuple((s.st_size, s.st_mtime_ns) for s in (os.stat(cert_path), os.stat(key_path)))
    except OSError as error:
        raise ImproperlyConfigured(f"C2PA signing certificate or key can't be read: {error}") from error
    return _load(cert_path, key_path, stamps, alg, getattr(settings, "C2PA_TSA_URL", "") or None)


@functools.lru_cache(maxsize=4)
def _load(cert_path: str, key_path: str, stamps: tuple, alg: str, tsa_url: str | None) -> SigningConfig:
    try:
        cert_chain, private_key = Path(cert_path).read_bytes(), Path(key_path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"C2PA signing certificate or key can't be read: {error}") from error
    return SigningConfig(cert_chain=cert_chain, private_key=private_key, alg=alg, tsa_url=tsa_url)


def signer_identity() -> str | None:
    """Part of delivered images' ETags: a new certificate or algorithm means new bytes."""
    config = signing_config()
    return config.fingerprint if config else None


def reserve_bytes() -> int:
    """A first guess at the bytes a manifest adds (0 when signing is off); delivery re-encodes if it was short."""
    config = signing_config()
    if config is None:
        return 0
    return _MANIFEST_OVERHEAD + (_TIMESTAMP_OVERHEAD if config.tsa_url else 0)


def manifest_definition(fmt: str) -> dict:
    return {
        "claim_generator_info": [{"name": PRODUCT, "version": CLAIM_GENERATOR_VERSION}],
        "title": f"headshot.{fmt.lower()}",
        "format": _MIME[fmt],
        "assertions": [{
            "label": "c2pa.actions",
            "data": {"actions": [{
                "action": "c2pa.created",
                "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                "softwareAgent": {"name": PRODUCT, "version": CLAIM_GENERATOR_VERSION},
            }]},
        }],
    }


def _context():
    import c2pa  # lazy: the C2PA native library loads only when images are signed or read

    # No embedded thumbnail: the image itself is small, and a thumbnail would double a 100 kB headshot.
    return c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})


def sign(data: bytes, fmt: str, config: SigningConfig) -> bytes:
    """Embed a signed manifest (c2pa.created by a trained algorithm) in the image bytes."""
    import c2pa  # lazy: the C2PA native library loads only when images are signed or read

    info = c2pa.C2paSignerInfo(alg=config.alg, sign_cert=config.cert_chain, private_key=config.private_key,
                               ta_url=config.tsa_url)
    with c2pa.Signer.from_info(info) as signer, \
            c2pa.Builder(json.dumps(manifest_definition(fmt)), context=_context()) as builder:
        out = io.BytesIO()
        builder.sign(signer, _MIME[fmt], io.BytesIO(data), out)
    return out.getvalue()


def sign_if_configured(data: bytes, fmt: str) -> bytes:
    config = signing_config()
    return data if config is None else sign(data, fmt, config)


def read_manifest(data: bytes, fmt: str) -> dict | None:
    """The active manifest and validation state of an image's Content Credentials, or None when it has none."""
    import c2pa  # lazy: the C2PA native library loads only when images are signed or read

    try:
        with c2pa.Reader(_MIME[fmt], io.BytesIO(data)) as reader:
            return {"manifest": reader.get_active_manifest(), "validation_state": reader.get_validation_state(),
                    "validation_results": reader.get_validation_results()}
    except c2pa.C2paError.ManifestNotFound:
        return None
