from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "apps.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core import work
        from apps.interactions.services import delivery, inbound, outbound

        from . import services

        work.register(services.PREPARE_WORK, services.prepare_work, max_attempts=20)
        # Permanence is the handler's to decide (a recipient counts its own provider attempts); a
        # missing token or a paused campaign only puts the job back, however often that happens.
        work.register(services.SEND_WORK, services.send_work, max_attempts=1_000_000, on_failure=services.send_work_failed)
        work.register_sweeper("campaigns", services.campaigns_sweep)
        delivery.on_status(services.recipient_status_apply)
        inbound.on_opened(services.recipient_reply_link)
        outbound.on_campaign_pending(services.campaign_pending_for)
