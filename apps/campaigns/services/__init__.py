"""Use cases of campaigns (B4).

How a campaign runs, and why it never sends a recipient twice:

- Launch checks the refusals (plan, provider, template, parameters) and asks for durable work,
  ``campaigns.prepare``: the contact list becomes ``CampaignRecipient`` rows in batches of
  ``BATCH`` contacts, each batch one transaction, resumed after ``prepared_up_to`` if a worker
  dies, so memory stays flat on any list. Invalid numbers, duplicates and customers with an open
  interaction are stored as ``skipped`` with the reason.
- Recipients are fed to the runner as one job each (``campaigns.send``, key
  ``campaign:<recipient id>``), a few seconds ahead of the rate (``FEED_AHEAD_SECONDS``), by
  the feed after preparation, on resume and by the sweep; so a paused campaign leaves at most a
  few seconds of jobs behind, and each of them finds the pause and gives its recipient back.
- A send takes a token from a bucket shared by every worker (Redis when ``REDIS_URL`` is set,
  else a database row) at ``rate_per_second``; with no token the job raises ``NoToken`` with
  ``retry_after`` and the runner runs it again then. A 429 or Meta's 130429 halves the
  campaign's rate (recovering over a minute) and puts the send back the same way.
- Before the provider is called the recipient is marked (``send_started_at``) in its own
  transaction, guarded by ``status = pending``. A job that finds the mark without a provider id
  was interrupted mid-send (a killed worker, a timeout): it is failed, never sent again. Only
  answers that say the provider did not take the message (429, 5xx, no connection) are retried.

The use cases live one module per concern: ``lifecycle`` (the admin's actions), ``recipients``,
``sending``, ``rate``, ``feedback`` (status callbacks, replies) and ``progress``.
"""
from __future__ import annotations

from .common import (  # noqa: F401
    PREPARE_WORK,
    SEND_WORK,
    BATCH,
    FEED_AHEAD_SECONDS,
    MAX_SEND_ATTEMPTS,
    PROGRESS_EVERY,
    REPLY_WITHIN,
    CAMPAIGN_PROVIDERS,
    RATE_LIMIT_CODES,
    AMBIGUOUS_CODES,
    LIVE,
    RANK,
    NoToken,
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
    _start,
    prepare_recipients,
    _store_batch,
    _skip,
    feed,
    campaigns_sweep,
    prepare_work,
)
from .sending import (  # noqa: F401
    recipient_send,
    _SharedTransport,
    _transport,
    _sent,
    _send_failed,
    _fail,
    send_work,
    send_work_failed,
)
from .rate import (  # noqa: F401
    effective_throttle,
    slow_down,
    take_token,
    _db_take,
    _redis_take,
)
from .feedback import (  # noqa: F401
    recipient_status_apply,
    recipient_reply_link,
    campaign_pending_for,
)
from .progress import (  # noqa: F401
    publish_progress,
)
