from django.apps import AppConfig


class StewardshipConfig(AppConfig):
    """The content dashboard in the admin: what needs a steward's attention."""

    name = "stewardship"
    verbose_name = "Content stewardship"
