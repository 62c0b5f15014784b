"""Headers a genuine Meta delivery carries: ``X-Hub-Signature-256`` over the raw body (PROTOCOLS.md §1c)."""
from __future__ import annotations

import hashlib
import hmac


def sign_request(*, credentials: dict, url: str, body: bytes, form: list | None = None) -> dict[str, str]:
    digest = hmac.new(credentials["app_secret"].encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}
