"""Headers a genuine Kaleyra callback carries.

Kaleyra signs nothing (PROTOCOLS.md §4c); an account may configure a static header in its Callback
Profile, which Instant checks as ``X-Instant-Token``.
"""
from __future__ import annotations


def sign_request(*, credentials: dict, url: str, body: bytes, form: list | None = None) -> dict[str, str]:
    token = credentials.get("webhook_header_token") or ""
    return {"X-Instant-Token": token} if token else {}
