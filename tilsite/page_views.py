"""Views for content pages: a dictionary lookup and a response rendered once.

Content pages carry nothing that depends on the request (no CSRF token, no CSP nonce, no
user), so each page's full HTML, ETag and Last-Modified are built on its first request and
kept with the page registry; later requests, and repeat visits (304), do no template work.
"""

import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from tilsite.pages import HOME_SLUG, Page, PageRegistry, get_registry

# Browsers and proxies may keep a page five minutes, then revalidate with the ETag.
CACHE_CONTROL = "public, max-age=300"


@require_safe
def home(request):
    registry = _registry_or_error()
    page = registry.home
    if page is None:
        raise Http404("No home page")
    return _page_response(request, registry, page, "pages/home.html")


@require_safe
def page(request, slug):
    if slug == HOME_SLUG:
        return redirect("home", permanent=True)
    registry = _registry_or_error()
    found = registry.get(slug)
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
    cached = registry.response_cache.get(page.slug)
    if cached is None:
        cached = registry.response_cache[page.slug] = _render(request, registry, page, template)
    body, etag, last_modified = cached
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(b"" if request.method == "HEAD" else body)
        response["Content-Length"] = len(body)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _render(request, registry: PageRegistry, page: Page, template: str):
    previous, following = registry.neighbours(page)
    context = {
        "page": page,
        "current_slug": page.slug,
        "breadcrumbs": registry.breadcrumbs(page),
        "previous_page": previous,
        "next_page": following,
        "sections": registry.by_section(),
        "canonical_url": settings.SITE_URL + page.url,
    }
    body = render_to_string(template, context, request).encode()
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    modified = page.path.stat().st_mtime if page.path else datetime.datetime.now().timestamp()
    return body, etag, int(modified)
