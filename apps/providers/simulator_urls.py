"""URLs of the customer simulator, included at ``/simulator/``."""
from __future__ import annotations

from django.urls import path

from . import cloud_views
from . import simulator_views as views

urlpatterns = [
    path("", views.simulator_page, name="simulator"),
    path("api/accounts/<int:account_id>/messages/", views.messages, name="simulator-messages"),
    path("api/accounts/<int:account_id>/send/", views.send, name="simulator-send"),
    path("api/accounts/<int:account_id>/ack/", views.ack, name="simulator-ack"),
    # The Sandbox cloud's provider API, called by the Sandbox backend (token: the account's webhook token).
    path("cloud/<str:token>/v1/messages", cloud_views.send, name="sandbox-cloud-send"),
]
