"""The campaigns list reads every funnel of a page at once: 1 and 10 campaigns cost the same queries."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.campaigns.models import Campaign, CampaignRecipient
from apps.users.models import User
from tests.api.conftest import client_for
from tests.factories import ContactListFactory, TemplateFactory, UserFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

S = CampaignRecipient.Status
# One recipient per status, one of them replied: the funnel of every campaign below.
STATUSES = [S.PENDING, S.SENT, S.DELIVERED, S.READ, S.READ, S.FAILED, S.SKIPPED]
FUNNEL = {"total": 6, "pending": 1, "sent": 4, "delivered": 3, "read": 2, "failed": 1, "replied": 1, "skipped": 1}


def make_campaigns(count: int) -> list[Campaign]:
    account = WhatsAppAccountFactory()
    template = TemplateFactory(account=account, body="Hi {{1}}")
    contacts = ContactListFactory()
    campaigns = []
    for n in range(count):
        campaign = Campaign.objects.create(
            name=f"C{n}", account=account, template=template, contact_list=contacts, params=[{"value": "x"}]
        )
        CampaignRecipient.objects.bulk_create(
            CampaignRecipient(campaign=campaign, phone=f"+1555400{n:02d}{i:02d}", status=status)
            for i, status in enumerate(STATUSES)
        )
        first_read = CampaignRecipient.objects.filter(campaign=campaign, status=S.READ).order_by("id").first()
        CampaignRecipient.objects.filter(pk=first_read.pk).update(replied_at=first_read.updated_at)
        campaigns.append(campaign)
    return campaigns


def list_queries(client, path: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response


@pytest.fixture
def admin_api(db):
    return client_for(UserFactory(username="ada", role=User.Role.ADMIN))


def test_the_list_costs_the_same_queries_for_one_and_ten_campaigns(admin_api, django_assert_max_num_queries):
    make_campaigns(1)
    one, response = list_queries(admin_api, "/api/v1/campaigns/")
    assert [{k: row[k] for k in FUNNEL} for row in response.json()["results"]] == [FUNNEL]
    make_campaigns(9)
    with django_assert_max_num_queries(one):
        response = admin_api.get("/api/v1/campaigns/")
    rows = response.json()["results"]
    assert len(rows) == 10
    assert all({k: row[k] for k in FUNNEL} == FUNNEL for row in rows)


def test_a_campaign_without_recipients_lists_zeros(admin_api):
    account = WhatsAppAccountFactory()
    Campaign.objects.create(
        name="Empty", account=account, template=TemplateFactory(account=account), contact_list=ContactListFactory()
    )
    row = admin_api.get("/api/v1/campaigns/").json()["results"][0]
    assert {k: row[k] for k in FUNNEL} == dict.fromkeys(FUNNEL, 0)


def test_the_admin_changelist_costs_the_same_for_one_and_ten_campaigns(client, django_assert_max_num_queries):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    url = reverse("admin:campaigns_campaign_changelist")
    make_campaigns(1)
    one, _ = list_queries(client, url)
    make_campaigns(9)
    with django_assert_max_num_queries(one):
        response = client.get(url)
    assert response.content.count(b'class="campaign-progress"') == 10
