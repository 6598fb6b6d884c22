"""Values every template may show. Nothing here depends on the request's user or session,
so that content pages stay identical for every visitor and can be cached whole."""

from django.conf import settings
from django.utils import translation

from tilsite.languages import html_lang, language_links
from tilsite.pages import default_language, get_registry, twins


def site(request):
    registry = get_registry()
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "organisation_name": settings.ORGANISATION_NAME,
        "nav_pages": registry.nav,
        "html_lang": html_lang(translation.get_language()),
        # Page views pass their own (the page's twin); these serve every other page.
        "language_links": language_links(request),
        "footer_pages": _footer_pages(registry),
    }


def _footer_pages(registry) -> dict:
    """The About, Privacy and Accessibility pages in the active language (by English slug)."""
    pages = {}
    for slug in ("about", "privacy", "accessibility"):
        original = get_registry(default_language()).get(slug)
        if original is not None:
            pages[slug.replace("-", "_")] = twins(original).get(registry.language, original)
    return pages
