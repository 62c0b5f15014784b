"""Use cases of interactions, one module per feature (STYLE: a package by use case).

- ``inbound``: a customer's message joins or opens an interaction; media downloads.
- ``routing``: offers, accept, reject, expiry (D2).
- ``chat``: read, notes, the agent's messages, recontact, close (D3-D5, D7).
- ``delivery``: sends as durable work and the provider's status callbacks.
- ``window``: the 24-hour window (D7).
- ``outbound``: agent-started conversations, lookup and start (D8).

Every top-level service is one transaction; races are settled inside it with a conditional
UPDATE (accept) or row locks, and realtime events and work leave only after commit.
"""
from __future__ import annotations

from .chat import interaction_close, interaction_mark_read, interaction_recontact, message_send, note_create
from .contact import interaction_set_contact_and_tags
from .common import (
    OPEN_STATES,
    WINDOW,
    history_record,
    in_batch,
    interaction_lock_owned,
    on_close,
    publish_queue_stats,
    queue_stats,
    read_once_per_batch,
)
from .delivery import (
    SEND_WORK,
    UnknownMessage,
    message_deliver,
    message_send_failed,
    message_status_apply,
    public_media_url,
)
from .inbound import MEDIA_WORK, inbound_message_receive, media_download_failed, message_media_store
from .routing import (
    interaction_accept,
    interaction_reject,
    offer_interaction,
    offers_expire,
    offers_for_agent,
    offers_withdraw_for_agent,
)
from .outbound import interaction_lookup, interaction_start, on_campaign_pending, start_accounts_for
from .window import recontact_available, window_close, window_open_from_template, windows_expire

__all__ = [
    "MEDIA_WORK",
    "OPEN_STATES",
    "SEND_WORK",
    "WINDOW",
    "UnknownMessage",
    "history_record",
    "inbound_message_receive",
    "interaction_accept",
    "interaction_close",
    "in_batch",
    "interaction_lock_owned",
    "interaction_lookup",
    "interaction_mark_read",
    "interaction_recontact",
    "interaction_reject",
    "interaction_start",
    "interaction_set_contact_and_tags",
    "media_download_failed",
    "message_deliver",
    "message_media_store",
    "message_send",
    "message_send_failed",
    "message_status_apply",
    "note_create",
    "offer_interaction",
    "on_campaign_pending",
    "offers_expire",
    "offers_for_agent",
    "offers_withdraw_for_agent",
    "on_close",
    "public_media_url",
    "publish_queue_stats",
    "queue_stats",
    "read_once_per_batch",
    "recontact_available",
    "start_accounts_for",
    "window_close",
    "window_open_from_template",
    "windows_expire",
]
