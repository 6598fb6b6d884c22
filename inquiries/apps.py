from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    """The question form, its emails (sent by the task worker) and the staff admin."""

    name = "inquiries"
    verbose_name = "Inquiries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from inquiries import checks  # noqa: F401 (registers the inquiry settings checks)
