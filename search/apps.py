from django.apps import AppConfig


class SearchConfig(AppConfig):
    """The site search: an index of the rendered pages, its results page, and the count of
    searches that found nothing."""

    name = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from search import checks  # noqa: F401 (registers search.E001)
        from search.index import fts5_available, get_index

        # Index every page now, at start-up, right after TilsiteConfig built them: not on a
        # reader's first search. Without FTS5, search.E001 stops start-up with a message.
        if fts5_available():
            get_index()
