"""URLs of the customer simulator, included at ``/simulator/``."""
from __future__ import annotations

from django.urls import path

from . import simulator_views as views

urlpatterns = [
    path("", views.simulator_page, name="simulator"),
    path("api/accounts/<int:account_id>/messages/", views.messages, name="simulator-messages"),
    path("api/accounts/<int:account_id>/send/", views.send, name="simulator-send"),
    path("api/accounts/<int:account_id>/ack/", views.ack, name="simulator-ack"),
]
