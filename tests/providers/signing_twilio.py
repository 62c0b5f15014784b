"""Sign a webhook request the way Twilio does (PROTOCOLS.md §2c), for tests that play Twilio."""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl


def sign_request(
    *,
    credentials: dict,
    url: str,
    body: bytes,
    form: list | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The ``X-Twilio-Signature`` header for a POST of ``form`` (or ``body`` decoded) to ``url``.

    Written independently of the backend so that a test signs as Twilio would, not as we verify.
    ``now`` is accepted for a uniform signature with the other providers; Twilio signs no time.
    """
    pairs = list(form) if form is not None else parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    payload = url
    for name in sorted({name for name, _ in pairs}):
        for value in sorted(value for key, value in pairs if key == name):
            payload += name + value
    digest = hmac.new(str(credentials["auth_token"]).encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return {"X-Twilio-Signature": base64.b64encode(digest).decode("ascii")}
