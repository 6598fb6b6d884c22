from django.apps import AppConfig


class TilsiteConfig(AppConfig):
    """The project package as an app: the page engine, its checks and templates' context."""

    name = "tilsite"
    verbose_name = "Site pages"

    def ready(self):
        from citations.catalogue import set_provider
        from tilsite import checks  # noqa: F401 (registers the content checks)
        from tilsite.pages import get_registry

        # The citations app sees the catalogue the pages were built with, and who cites what.
        set_provider(lambda: get_registry().catalogue)
        # Read and render every page now, at start-up, not on a visitor's request.
        get_registry()
