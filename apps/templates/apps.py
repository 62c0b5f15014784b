from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "apps.templates"
    label = "wa_templates"  # never clashes with the top-level templates/ folder
    verbose_name = "Templates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.providers import services as provider_services
        from apps.providers.types import TemplateStatus

        from .services import template_status_apply

        provider_services.handle(TemplateStatus, lambda account, item: template_status_apply(account=account, update=item))
