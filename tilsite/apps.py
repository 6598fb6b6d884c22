from django.apps import AppConfig


class TilsiteConfig(AppConfig):
    """The project package as an app: the page engine, its checks and its templates' context."""

    name = "tilsite"
    verbose_name = "Site pages"
