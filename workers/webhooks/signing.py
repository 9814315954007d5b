"""Standard Webhooks signatures (https://www.standardwebhooks.com), so receivers can verify
deliveries with the `standardwebhooks` library or twenty lines of their own.

signature = base64(HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")), sent as
"v1,<signature>" in webhook-signature; the secret is "whsec_" + base64 of 32 random bytes.
The signature is the `standardwebhooks` library's own, so it is the one receivers check.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """The webhook-id: the same for every retry of one event, so receivers can deduplicate."""
    return f"msg_{uuid.uuid4().hex}"


def _key(secret: str) -> bytes:
    # Stricter than the library, which drops the prefix if present and decodes leniently:
    # a stored secret that is not exactly whsec_ + base64 is a bug to report, not to sign with.
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)


def sign(secret: str, message_id: str, timestamp_s: int, body: bytes) -> str:
    """The webhook-signature value, "v1,<base64 signature>". `body` is the JSON payload, in
    UTF-8 (the library signs text)."""
    timestamp = datetime.fromtimestamp(timestamp_s, tz=UTC)
    return Webhook(_key(secret)).sign(message_id, timestamp, body.decode("utf-8"))


def signed_headers(secret: str | Sequence[str], message_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery. With several secrets (the current one and, during a
    rotation, the one before it) the signature header carries one signature per secret,
    space separated as the spec allows, so receivers holding either secret verify it."""
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": " ".join(sign(s, message_id, timestamp_s, body) for s in secrets_),
        "content-type": "application/json",
    }
