"""Our signatures are Standard Webhooks signatures: the reference library verifies them and rejects tampering."""
from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import new_message_id, new_secret, secret_key, signature, signed_headers

BODY = '{"type":"headshot.approved","timestamp":"2026-01-01T00:00:00Z","data":{"employee":{"id":1}}}'


def test_secret_is_whsec_prefixed_base64_of_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret_key(secret) == base64.b64decode(secret[6:])
    assert new_secret() != secret


def test_message_ids_are_msg_prefixed_ulids_that_sort_by_time():
    earlier, later = new_message_id(now=1_700_000_000.0), new_message_id(now=1_700_000_001.0)
    assert re.fullmatch(r"msg_[0-9A-HJKMNP-TV-Z]{26}", earlier)
    assert earlier < later
    assert new_message_id() != new_message_id()


def test_reference_library_verifies_our_signature():
    secret = new_secret()
    headers = signed_headers(msg_id="msg_1", timestamp=int(time.time()), body=BODY, secret_list=[secret])
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["type"] == "headshot.approved"


def test_signature_matches_the_specs_construction():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's example secret
    expected = Webhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek",
                                    datetime.fromtimestamp(1614265330, tz=UTC), '{"test": 2432232314}')
    assert signature(secret, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330,
                     body='{"test": 2432232314}') == expected == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("tamper", ["body", "secret", "old_timestamp", "msg_id"])
def test_reference_library_rejects_tampered_or_stale_messages(tamper):
    secret, now = new_secret(), int(time.time())
    stamp = now - 10 * 60 if tamper == "old_timestamp" else now
    headers = signed_headers(msg_id="msg_1", timestamp=stamp, body=BODY, secret_list=[secret])
    body, verifier = BODY, Webhook(secret)
    if tamper == "body":
        body = BODY.replace('"id":1', '"id":2')
    elif tamper == "secret":
        verifier = Webhook(new_secret())
    elif tamper == "msg_id":
        headers["webhook-id"] = "msg_2"
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, headers)


def test_during_rotation_both_old_and_new_secret_verify():
    old, new = new_secret(), new_secret()
    headers = signed_headers(msg_id="msg_1", timestamp=int(time.time()), body=BODY, secret_list=[new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers)
    assert Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
