"""Views for content pages: a dictionary lookup and a response rendered once.

Content pages carry nothing that depends on the request, so `tilsite.rendered.rendered_once`
keeps each page's response (with its ETag, Last-Modified and compressed versions) after its
first request; later requests and repeat visits (304) do no template work.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from tilsite.languages import page_alternates
from tilsite.pages import HOME_SLUG, Page, PageRegistry, default_language, get_registry
from tilsite.rendered import rendered_once
from tilsite.structured_data import json_ld


@require_safe
@rendered_once
def home(request):
    registry = _registry_or_error()
    page = registry.home
    if page is None:
        raise Http404("No home page")
    return _page_response(request, registry, page, "pages/home.html")


@require_safe
@rendered_once
def page(request, slug):
    if slug == HOME_SLUG:
        return redirect("home", permanent=True)
    registry = _registry_or_error()
    found = registry.get(slug)
    if found is None and registry.language != default_language():
        # Not translated yet: the English page, with a notice in this language (and kept out
        # of this language's sitemap).
        original = get_registry(default_language()).get(slug)
        twin = registry.translation_of(slug) if original is not None else None
        if twin is not None:  # an English address under /es/: its Spanish twin
            return redirect(twin.url, permanent=True)
        if original is not None:
            return _page_response(request, registry, original, "pages/page.html")
    if found is None:
        raise Http404("No such page")
    return _page_response(request, registry, found, "pages/page.html")


def _registry_or_error() -> PageRegistry:
    registry = get_registry()
    if registry.errors and settings.DEBUG:
        # An author's broken edit during development: show what is wrong, not a stale page.
        raise ImproperlyConfigured("\n".join(str(problem) for problem in registry.errors))
    return registry


def _page_response(request, registry: PageRegistry, page: Page, template: str):
    previous, following = registry.neighbours(page)
    alternates, language_links = page_alternates(page)
    context = {
        "page": page,
        "untranslated": page.language != registry.language,
        "alternates": alternates,
        "language_links": language_links,
        "current_slug": page.slug,
        "breadcrumbs": registry.breadcrumbs(page),
        "previous_page": previous,
        "next_page": following,
        "canonical_url": settings.SITE_URL + page.url,
        "structured_data": json_ld(page),
    }
    response = render(request, template, context)
    modified = page.path.stat().st_mtime if page.path else datetime.datetime.now().timestamp()
    response["Last-Modified"] = http_date(int(modified))
    return response
