"""System checks for the search: SQLite's full-text engine must be there."""

from django.core.checks import Error, register

from search.index import fts5_available


@register()
def check_fts5(app_configs, **kwargs):
    if fts5_available():
        return []
    return [
        Error(
            "This Python's SQLite has no FTS5 full-text engine, which the site search needs.",
            hint="Use a Python built against SQLite 3.9 or newer with FTS5 (Debian's, "
            "Ubuntu's and python.org's builds have it).",
            id="search.E001",
        )
    ]
