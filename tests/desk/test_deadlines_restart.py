"""Deadlines are rows, not timers: a sweep in a fresh process acts on what expired while we were down."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from apps.interactions.models import InteractionOffer
from apps.transfers.models import Transfer
from apps.transfers.services import transfer_request
from apps.interactions.services import interaction_accept
from apps.users.models import User
from tests.factories import InteractionFactory, QueueFactory, UserFactory, WhatsAppAccountFactory

ROOT = Path(__file__).resolve().parents[2]


def fresh_process_sweep() -> dict:
    env = dict(os.environ)
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
        )
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
    result = subprocess.run(
        [sys.executable, "manage.py", "sweep"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_a_pending_transfer_and_an_offer_survive_a_restart():
    queue = QueueFactory(name="Support")
    a1 = UserFactory(username="agent1", presence=User.Presence.ONLINE, queues=[queue])
    a2 = UserFactory(username="agent2", presence=User.Presence.ONLINE, queues=[queue])
    account = WhatsAppAccountFactory(queue=queue)
    owned = InteractionFactory(account=account, status="waiting")
    interaction_accept(interaction_id=owned.pk, user=a1)
    transfer = transfer_request(interaction_id=owned.pk, user=a1, to_agent_id=a2.pk)
    waiting = InteractionFactory(account=account, status="waiting", customer_phone="+15550007777")
    offer = InteractionOffer.objects.create(interaction=waiting, agent=a2, expires_at=timezone.now() + timedelta(seconds=60))

    # The server is down; the deadlines pass.
    past = timezone.now() - timedelta(seconds=1)
    Transfer.objects.filter(pk=transfer.pk).update(expires_at=past)
    InteractionOffer.objects.filter(pk=offer.pk).update(expires_at=past)

    done = fresh_process_sweep()
    assert done["transfers"] == 1 and done["offers"] == 1
    assert Transfer.objects.get(pk=transfer.pk).status == "expired"
    assert InteractionOffer.objects.get(pk=offer.pk).status == "expired"
    assert fresh_process_sweep() == {
        "campaigns": 0, "offers": 0, "reoffer": 0, "templates": 0, "transfers": 0, "windows": 0,
    }  # never twice
