"""One-time 6-digit codes sent by email (sign-in, sign-up, invite acceptance, domain verification): made, hashed
and checked in one place. Only a keyed hash is stored, so a leaked table can't be brute-forced over the million
codes without SECRET_KEY."""
from __future__ import annotations

import re
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac


def code_new() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_hash(purpose: str, subject: str, code: str) -> str:
    """`purpose` keeps one use's codes from passing for another's; `subject` is what the code was sent about."""
    return salted_hmac(purpose, f"{subject}:{code}", algorithm="sha256").hexdigest()


def code_matches(stored_hash: str, purpose: str, subject: str, code: str | None) -> bool:
    """The typed code (spaces ignored) is the one whose hash was stored."""
    typed = re.sub(r"\s+", "", code or "")
    return bool(stored_hash) and constant_time_compare(stored_hash, code_hash(purpose, subject, typed))
