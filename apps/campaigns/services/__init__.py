"""Use cases of campaigns (B4).

How a campaign runs, and why it never sends a recipient twice:

- Launch checks the refusals (plan, provider, template, parameters) and asks for durable work,
  ``campaigns.prepare``: the contact list becomes ``CampaignRecipient`` rows in batches of
  ``BATCH`` contacts, each batch one transaction, resumed after ``prepared_up_to`` if a worker
  dies, so memory stays flat on any list. Invalid numbers, duplicates and customers with an open
  interaction are stored as ``skipped`` with the reason.
- A running, prepared campaign has one pump: a durable work row ``campaigns.send`` (key
  ``campaign-send:<id>``), asked for after preparation, on resume and by the sweep every second
  (asking twice is harmless). It runs in one-second slices, each a fresh claim of the row, and
  reads the campaign every step (1/20 s), so a pause stops it within a step.
- Each step takes the tokens a bucket shared by every worker grants (Redis when ``REDIS_URL`` is
  set, else a database row) at ``rate_per_second``, marks that many recipients, sends them side by
  side and records the answers in one UPDATE. A 429 or Meta's 130429 halves the campaign's rate
  (recovering over a minute), gives the recipient back and pauses the pump for ``retry_after``.
- Before the provider is called the recipients are marked (``send_started_at``) in their own
  transaction, guarded by ``status = pending``. A mark without a provider id after the pump's
  lease was a send interrupted mid-way (a killed worker): it is failed, never sent again. Only
  answers that say the provider did not take the message (429, 5xx, no connection) are retried.

The use cases live one module per concern: ``lifecycle`` (the admin's actions), ``recipients``,
``sending``, ``rate``, ``feedback`` (status callbacks, replies) and ``progress``.
"""
from __future__ import annotations

from .common import (  # noqa: F401
    PREPARE_WORK,
    SEND_WORK,
    BATCH,
    PUMP_LEASE_SECONDS,
    MAX_SEND_ATTEMPTS,
    PROGRESS_EVERY,
    REPLY_WITHIN,
    CAMPAIGN_PROVIDERS,
    RATE_LIMIT_CODES,
    AMBIGUOUS_CODES,
    LIVE,
    RANK,
)
from .lifecycle import (  # noqa: F401
    _EDITABLE,
    campaign_create,
    campaign_update,
    campaign_launch,
    launch_check,
    campaign_pause,
    campaign_resume,
    campaign_cancel,
)
from .recipients import (  # noqa: F401
    prepare_recipients,
    ask_for_pump,
    campaigns_sweep,
    prepare_work,
)
from .sending import (  # noqa: F401
    pump,
    send_work,
)
from .rate import (  # noqa: F401
    effective_throttle,
    slow_down,
    take_tokens,
)
from .feedback import (  # noqa: F401
    recipient_status_apply,
    recipient_reply_link,
    campaign_pending_for,
)
from .progress import (  # noqa: F401
    publish_progress,
)
