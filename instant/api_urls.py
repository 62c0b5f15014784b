"""The REST API under ``/api/v1/`` (CONTRACT.md "REST API"). URL names live in the ``api`` namespace."""
from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.accounts.api.views import AccountViewSet
from apps.campaigns.api.views import CampaignViewSet
from apps.contacts.api.views import ContactListViewSet, ContactViewSet, TagViewSet
from apps.core.api_views import AnyContentNegotiation, SettingsView, TokenView
from apps.interactions.api.board import BoardView
from apps.interactions.api.outbound_views import InteractionLookupView, InteractionStartView
from apps.interactions.api.views import InteractionViewSet, MessageAttachmentView, OfferViewSet
from apps.queues.api.views import QueueViewSet
from apps.templates.api.views import TemplateViewSet
from apps.transfers.api.views import TransferViewSet
from apps.users.api.views import PresenceView, UserViewSet

app_name = "api"

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("queues", QueueViewSet, basename="queue")
router.register("accounts", AccountViewSet, basename="account")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("offers", OfferViewSet, basename="offer")
router.register("contact-lists", ContactListViewSet, basename="contact-list")
router.register("contacts", ContactViewSet, basename="contact")
router.register("tags", TagViewSet, basename="tag")
router.register("templates", TemplateViewSet, basename="template")
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("presence/", PresenceView.as_view(), name="presence"),
    path("settings/", SettingsView.as_view(), name="settings"),
    path("board/", BoardView.as_view(), name="board"),
    path("messages/<int:pk>/attachment/", MessageAttachmentView.as_view(), name="message-attachment"),
    # Before the router, so "start" and "lookup" are not taken for an interaction id (D8).
    path("interactions/start/", InteractionStartView.as_view(), name="interaction-start"),
    path("interactions/lookup/", InteractionLookupView.as_view(), name="interaction-lookup"),
    # CONTRACT.md names it without the router's trailing slash.
    path(
        "interactions/<int:pk>/transcript.pdf",
        InteractionViewSet.as_view({"get": "transcript"}, content_negotiation_class=AnyContentNegotiation),
        name="interaction-transcript-pdf",
    ),
    *router.urls,
]
