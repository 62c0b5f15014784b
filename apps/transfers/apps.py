from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "apps.transfers"
    label = "transfers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core import work
        from apps.interactions.services import on_close
        from apps.users.services import on_presence

        from . import services

        work.register_sweeper("transfers", services.transfers_expire)
        on_close(services.transfers_cancel_for)
        on_presence(services.presence_changed)
