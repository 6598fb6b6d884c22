from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    """ "Was this page helpful?" at the foot of every content page, and its staff view."""

    name = "feedback"
    verbose_name = "Page feedback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from feedback import checks  # noqa: F401 (registers the feedback settings check)
