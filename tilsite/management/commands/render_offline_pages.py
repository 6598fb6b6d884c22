"""Write the pages nginx shows when no app server answers, as static files in the site's layout.

    python manage.py render_offline_pages      # after collectstatic, at every release

They go to STATIC_ROOT/offline/: contact.html for the question form's address ("We cannot take
questions for a few minutes"), es/contact.html, the same in Spanish for /es/contact/, and
unavailable.html for anything else nginx cannot answer (deploy/nginx/tilsite-server.conf).
Each is rendered from templates/offline/ through the real base.html, so it links the hashed
stylesheet collectstatic has just written, and needs nothing but static files while every app
server is down.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation

# File name: (template, the address it stands in for, the menu item marked as current, language).
OFFLINE_PAGES = {
    "contact.html": ("offline/contact.html", "/contact/", "contact", "en-gb"),
    "unavailable.html": ("offline/unavailable.html", "/", "", "en-gb"),
    "es/contact.html": ("offline/contact.html", "/es/contact/", "contact", "es"),
}


def anonymous_request(path: str) -> HttpRequest:
    """A GET of `path` by a reader with no cookie, for the context processors."""
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = path
    return request


class Command(BaseCommand):
    help = "Write STATIC_ROOT/offline/*.html, the pages nginx shows when no app server answers."

    def handle(self, *args, **options):
        folder = Path(settings.STATIC_ROOT) / "offline"
        folder.mkdir(parents=True, exist_ok=True)
        for name, (template, path, current_slug, language) in OFFLINE_PAGES.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            try:
                with translation.override(language):
                    html = render_to_string(
                        template, {"current_slug": current_slug}, anonymous_request(path)
                    )
            except ValueError as error:  # the manifest has no entry: collectstatic not run
                raise CommandError(f"{error}. Run `manage.py collectstatic` first.") from error
            # nginx may be reading the old file: write beside it, then swap.
            partial = (folder / name).with_name(f".{Path(name).name}.tmp")
            partial.write_text(html, encoding="utf-8")
            os.replace(partial, folder / name)
            self.stdout.write(f"Wrote {folder / name}")
