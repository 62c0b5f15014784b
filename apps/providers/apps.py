from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "apps.providers"
    label = "providers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core import work

        from . import sandbox_cloud, services

        services.register_work()
        # The simulated phone keeps posting until Instant answers: a long outage of our own server
        # must not lose what the customer "typed".
        work.register(sandbox_cloud.POST_WORK, sandbox_cloud.post_work, max_attempts=20)
