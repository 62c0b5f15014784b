"""Helpers to play a provider against the real webhook view."""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from urllib.parse import parse_qsl

from apps.providers import sandbox

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"
PROVIDERS = ("meta", "twilio", "sinch", "kaleyra")


def manifest(provider: str) -> dict:
    return json.loads((FIXTURES / provider / "manifest.json").read_text())


def fixture_bytes(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def post_signed(client, account, body: bytes, *, content_type: str, method: str = "POST", sign: bool = True, headers=None):
    """Send ``body`` to the account's webhook the way its provider would, signature included."""
    path = account.webhook_path
    if method == "GET":
        query = body.decode().strip()
        url = account.webhook_url + (f"?{query}" if query else "")
        extra = _signature(account, url, b"", None) if sign else {}
        return client.get(f"{path}?{query}", headers={**extra, **(headers or {})})
    form = parse_qsl(body.decode(), keep_blank_values=True) if content_type == "application/x-www-form-urlencoded" else None
    extra = _signature(account, account.webhook_url, body, form) if sign else {}
    return client.generic(method, path, data=body, content_type=content_type, headers={**extra, **(headers or {})})


def _signature(account, url: str, body: bytes, form) -> dict:
    if account.provider == "sandbox":
        return {sandbox.SIGNATURE_HEADER: sandbox.sign(account.webhook_url, body)}
    signer = importlib.import_module(f"tests.providers.signing_{account.provider}")
    return signer.sign_request(credentials=account.credentials, url=url, body=body, form=form)


def sandbox_message(*, message_id: str, phone: str = "+15551234567", text: str = "Hello", when: str | None = None, **extra) -> bytes:
    message = {"id": message_id, "from": phone, "name": "Carla Customer", "type": "text", "text": text}
    if when:
        message["timestamp"] = when
    message.update(extra)
    return json.dumps({"event": "message", "message": message}).encode()


def sandbox_status(*, message_id: str, status: str, when: str | None = None, error: dict | None = None) -> bytes:
    payload = {"id": message_id, "status": status}
    if when:
        payload["timestamp"] = when
    if error:
        payload["error"] = error
    return json.dumps({"event": "status", "status": payload}).encode()
