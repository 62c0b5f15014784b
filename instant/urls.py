from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core import health
from apps.interactions import views as interaction_views
from apps.providers import views as provider_views
from apps.providers import webhooks

urlpatterns = [
    path("healthz/", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/<str:token>/", webhooks.webhook, name="webhook"),
    path("media/public/<str:token>/", interaction_views.public_media, name="public-media"),
    path("simulator/media/<uuid:token>/", provider_views.sandbox_media, name="sandbox-media"),
    path("simulator/", include("apps.providers.simulator_urls")),
    path("api/v1/", include("instant.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.desktop.urls")),
]

# Under /api/ these answer JSON with a `code` like every other API error; elsewhere Django's pages.
handler400 = "apps.core.api.bad_request"
handler403 = "apps.core.api.permission_denied"
handler404 = "apps.core.api.page_not_found"
handler500 = "apps.core.api.server_error"
