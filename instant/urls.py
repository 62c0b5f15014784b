from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from apps.providers import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/<str:token>/", webhooks.webhook, name="webhook"),
]
