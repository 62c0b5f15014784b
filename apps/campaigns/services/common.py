"""Shared by the campaign use cases: constants, the no-token signal, the log."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings



from apps.providers.types import ErrorCode

from ..models import Campaign


log = logging.getLogger(__name__)


PREPARE_WORK = "campaigns.prepare"


SEND_WORK = "campaigns.send"


BATCH = 1000


# The pump's claim on its row: longer than a slice (a second) plus the slowest provider answer, so
# a live pump never loses its row; a killed one's campaign resumes after it.
PUMP_LEASE_SECONDS = settings.INSTANT_CAMPAIGN_LEASE_SECONDS


MAX_SEND_ATTEMPTS = 5


PROGRESS_EVERY = timedelta(seconds=1)


REPLY_WITHIN = timedelta(days=30)


CAMPAIGN_PROVIDERS = ("meta", "kaleyra", "sandbox")


# Meta's throughput limits (§1d): 130429 rate limit hit, 131056 pair rate limit.
RATE_LIMIT_CODES = frozenset({"130429", "131056", ErrorCode.RATE_LIMITED.value})


# Answers after which the provider may have taken the message: a resend could duplicate it.
AMBIGUOUS_CODES = frozenset({ErrorCode.TIMEOUT.value, ErrorCode.INVALID_RESPONSE.value, ErrorCode.NETWORK.value})


LIVE = (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING, Campaign.Status.PAUSED)


RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}

