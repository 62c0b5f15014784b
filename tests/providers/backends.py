"""Every provider backend behind one test harness, so a behaviour can be checked across all of them.

Each ``Case`` knows how to build its backend against the fake provider, where its send goes and what
a successful answer looks like, where the recipient sits in the request, and how to write an inbound
message from a given sender in the provider's own payload (built from its documented fixture).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from apps.providers.base import AccountConfig, CaseInsensitiveDict, ProviderBackend, WebhookRequest
from apps.providers.kaleyra import KaleyraBackend
from apps.providers.meta import MetaBackend
from apps.providers.sinch import SinchBackend
from apps.providers.twilio import TwilioBackend
from tests.fakeprovider import FakeProvider, Recorded

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
WEBHOOK_URL = "https://instant.example/webhooks/tok/"


def manifest(provider: str) -> dict:
    return json.loads((FIXTURES / provider / "manifest.json").read_text())


def fixture(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def json_request(payload: Any) -> WebhookRequest:
    body = json.dumps(payload).encode()
    return WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict({"Content-Type": "application/json"}), body)


def form_request(pairs: list[tuple[str, str]]) -> WebhookRequest:
    headers = CaseInsensitiveDict({"Content-Type": "application/x-www-form-urlencoded"})
    return WebhookRequest("POST", WEBHOOK_URL, headers, urlencode(pairs).encode(), form=pairs)


@dataclass(frozen=True)
class Case:
    name: str
    provider: str
    backend_class: type[ProviderBackend]
    send_method: str
    send_path: str  # a regex, as FakeProvider.route takes it
    send_ok: tuple
    credentials: dict[str, str]
    recipient_in: Callable[[Recorded], str]
    inbound_from: Callable[[str], WebhookRequest]
    # How the provider writes +15551234567 when we send to it (PROTOCOLS.md).
    wire_number: str

    def make(self, base_url: str) -> ProviderBackend:
        data = manifest(self.provider)
        config = AccountConfig(
            id=1,
            provider=self.provider,
            phone_number=data["phone_number"],
            credentials={**data["credentials"], **self.credentials},
            api_base_url=base_url,
            webhook_url=WEBHOOK_URL,
        )
        return self.backend_class(config)

    def prepare(self, fake: FakeProvider) -> None:
        """Routes every send needs before its own request (Sinch's OAuth token)."""
        if self.provider == "sinch":
            fake.route("POST", r"/oauth2/token", (200, {"access_token": "tok", "expires_in": 3600}))


# ----- Meta --------------------------------------------------------------------------------------
def _meta_inbound(sender: str) -> WebhookRequest:
    payload = json.loads(fixture("meta", "text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"] = sender
    return json_request(payload)


_META = manifest("meta")["credentials"]
META = Case(
    name="meta",
    provider="meta",
    backend_class=MetaBackend,
    send_method="POST",
    send_path=rf"/{_META['api_version']}/{_META['phone_number_id']}/messages",
    send_ok=(200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.OK"}]}),
    credentials={},
    recipient_in=lambda recorded: recorded.json()["to"],
    inbound_from=_meta_inbound,
    wire_number="15551234567",
)


# ----- Twilio ------------------------------------------------------------------------------------
def _twilio_inbound(sender: str) -> WebhookRequest:
    pairs = parse_qsl(fixture("twilio", "text.form").decode(), keep_blank_values=True)
    # WaId is the fallback for a From without a number: leave only From to be read.
    return form_request([(k, sender if k == "From" else v) for k, v in pairs if k != "WaId"])


TWILIO = Case(
    name="twilio",
    provider="twilio",
    backend_class=TwilioBackend,
    send_method="POST",
    send_path=rf"/2010-04-01/Accounts/{manifest('twilio')['credentials']['account_sid']}/Messages\.json",
    send_ok=(201, {"sid": "SM0123", "status": "queued"}),
    credentials={},
    recipient_in=lambda recorded: recorded.form_dict()["To"],
    inbound_from=_twilio_inbound,
    wire_number="whatsapp:+15551234567",
)


# ----- Sinch -------------------------------------------------------------------------------------
def _sinch_inbound(sender: str) -> WebhookRequest:
    payload = json.loads(fixture("sinch", "text.json"))
    payload["message"]["channel_identity"]["identity"] = sender
    return json_request(payload)


SINCH = Case(
    name="sinch",
    provider="sinch",
    backend_class=SinchBackend,
    send_method="POST",
    send_path=rf"/v1/projects/{manifest('sinch')['credentials']['project_id']}/messages:send",
    send_ok=(200, {"message_id": "01HSINCHOK", "accepted_time": "2026-01-15T10:20:30Z"}),
    credentials={},
    recipient_in=lambda recorded: recorded.json()["recipient"]["identified_by"]["channel_identities"][0]["identity"],
    inbound_from=_sinch_inbound,
    wire_number="15551234567",
)


# ----- Kaleyra -----------------------------------------------------------------------------------
def _kaleyra_v2_inbound(sender: str) -> WebhookRequest:
    payload = json.loads(fixture("kaleyra", "v2_text.json"))
    payload["meta_object"]["value"]["messages"][0]["from"] = sender
    return json_request(payload)


def _kaleyra_v1_inbound(sender: str) -> WebhookRequest:
    payload = json.loads(fixture("kaleyra", "v1_text.json"))
    payload["from"] = sender
    return json_request(payload)


_KALEYRA = manifest("kaleyra")
# No header token: these cases test parsing, not Kaleyra's optional static header.
_KALEYRA_CREDENTIALS = {"webhook_header_token": ""}
KALEYRA_V2 = Case(
    name="kaleyra-v2",
    provider="kaleyra",
    backend_class=KaleyraBackend,
    send_method="POST",
    send_path=rf"/v2/{_KALEYRA['credentials']['sid']}/whatsapp/{_KALEYRA['phone_number'][1:]}/messages",
    send_ok=(200, {"messages": [{"id": "wamid.KOK"}]}),
    credentials={**_KALEYRA_CREDENTIALS, "api_version": "v2"},
    recipient_in=lambda recorded: recorded.json()["messaging_object"]["to"],
    inbound_from=_kaleyra_v2_inbound,
    wire_number="15551234567",
)
KALEYRA_V1 = Case(
    name="kaleyra-v1",
    provider="kaleyra",
    backend_class=KaleyraBackend,
    send_method="POST",
    send_path=rf"/v1/{_KALEYRA['credentials']['sid']}/messages",
    send_ok=(202, {"id": "k1-batch", "data": [{"message_id": "k1-msg"}]}),
    credentials={**_KALEYRA_CREDENTIALS, "api_version": "v1"},
    recipient_in=lambda recorded: recorded.form_dict()["to"],
    inbound_from=_kaleyra_v1_inbound,
    wire_number="+15551234567",
)

CASES = (META, TWILIO, SINCH, KALEYRA_V2, KALEYRA_V1)
