"""Sign a webhook request the way Sinch does (PROTOCOLS.md §3c), for tests that play Sinch."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


def sign_request(
    *,
    credentials: dict,
    url: str,
    body: bytes,
    form: list | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The four ``x-sinch-webhook-signature*`` headers for ``body`` signed at ``now`` (default: the clock).

    ``url`` and ``form`` are accepted for a uniform signature with the other providers; Sinch signs
    only the raw body bytes, a nonce and the timestamp.
    """
    nonce = secrets.token_hex(13).upper()
    timestamp = str(int(time.time() if now is None else now))
    signed = body + b"." + nonce.encode("utf-8") + b"." + timestamp.encode("utf-8")
    digest = hmac.new(str(credentials["webhook_secret"]).encode("utf-8"), signed, hashlib.sha256).digest()
    return {
        "x-sinch-webhook-signature": base64.b64encode(digest).decode("ascii"),
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": timestamp,
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
    }
