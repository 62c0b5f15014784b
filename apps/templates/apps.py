from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    name = "apps.templates"
    label = "wa_templates"  # never clashes with the top-level templates/ folder
    verbose_name = "Templates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core import work
        from apps.providers import services as provider_services
        from apps.providers.types import TemplateStatus

        from . import services

        provider_services.handle(
            TemplateStatus, lambda account, item: services.template_status_apply(account=account, update=item)
        )
        work.register(services.SYNC_WORK, services.sync_work, max_attempts=5)
        work.register_sweeper("templates", services.templates_sync_due)
