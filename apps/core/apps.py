from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import inprocess, tasks, work

        work.set_waker("sync", work.run_inline)
        work.set_waker("inprocess", inprocess.wake)
        work.set_waker("celery", tasks.celery_waker)
