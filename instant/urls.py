from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.providers import webhooks

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/<str:token>/", webhooks.webhook, name="webhook"),
    path("simulator/", include("apps.providers.simulator_urls")),
    path("api/v1/", include("apps.core.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.desktop.urls")),
]
