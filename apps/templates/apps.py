from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "apps.templates"
    label = "wa_templates"  # never clashes with the top-level templates/ folder
    verbose_name = "Templates"
    default_auto_field = "django.db.models.BigAutoField"
