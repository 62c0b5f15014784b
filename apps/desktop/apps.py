from django.apps import AppConfig


class DesktopConfig(AppConfig):
    name = "apps.desktop"
    label = "desktop"
    default_auto_field = "django.db.models.BigAutoField"
