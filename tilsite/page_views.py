"""Views for content pages: a dictionary lookup and a response rendered once.

Content pages carry nothing that depends on the request (no CSRF token, no CSP nonce, no
user), so each page's full HTML, ETag and Last-Modified are built on its first request and
kept with the page registry; later requests, and repeat visits (304), do no template work.
The brotli and gzip versions are compressed once too, on first demand, and served by the
request's Accept-Encoding (Vary: Accept-Encoding), each with its own ETag.
"""

import datetime
import functools
import gzip
import hashlib
from dataclasses import dataclass, field

import brotli
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
# Compressed once per page and worker, so the slowest, smallest settings pay off: a 27 KB page
# becomes 5.6 KB (brotli, about 0.1 s once) or 7 KB (gzip); bench/results/tuning.md has figures.
COMPRESSORS = {
    "br": lambda body: brotli.compress(body, mode=brotli.MODE_TEXT, quality=11),
    "gzip": lambda body: gzip.compress(body, compresslevel=9, mtime=0),
}


@dataclass
class CachedPage:
    """A page's rendered HTML, its validators, and its compressed versions once asked for."""

    body: bytes
    etag: str
    last_modified: int
    encoded: dict = field(default_factory=dict)  # encoding: (body, etag)

    def variant(self, encoding: str) -> tuple[bytes, str]:
        if encoding not in COMPRESSORS:
            return self.body, self.etag
        found = self.encoded.get(encoding)
        if found is None:
            # Each representation has its own strong ETag (RFC 9110, 8.8.3).
            etag = f'{self.etag[:-1]}-{encoding}"'
            found = self.encoded[encoding] = (COMPRESSORS[encoding](self.body), etag)
        return found


@functools.lru_cache(maxsize=64)  # browsers send a handful of distinct values
def choose_encoding(accept_encoding: str) -> str:
    """The coding to send: br, gzip or identity, by the client's q-values (brotli on a tie)."""
    qualities = {}
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if coding.strip():
            qualities[coding.strip().lower()] = quality
    wildcard = qualities.get("*", 0.0)
    best, best_quality = "identity", 0.0
    for coding in COMPRESSORS:
        quality = qualities.get(coding, wildcard)
        if quality > best_quality:
            best, best_quality = coding, quality
    if best != "identity" and qualities.get("identity", 0.0) > best_quality:
        return "identity"
    return best


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
        rendered = _render(request, registry, page, template)
        cached = registry.response_cache[page.slug] = CachedPage(*rendered)
    encoding = choose_encoding(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    body, etag = cached.variant(encoding)
    last_modified = cached.last_modified
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(b"" if request.method == "HEAD" else body)
        response["Content-Length"] = len(body)
        if encoding != "identity":
            response["Content-Encoding"] = encoding
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = "Accept-Encoding"
    return response


def _render(request, registry: PageRegistry, page: Page, template: str):
    previous, following = registry.neighbours(page)
    context = {
        "page": page,
        "current_slug": page.slug,
        "breadcrumbs": registry.breadcrumbs(page),
        "previous_page": previous,
        "next_page": following,
        "canonical_url": settings.SITE_URL + page.url,
    }
    body = render_to_string(template, context, request).encode()
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    modified = page.path.stat().st_mtime if page.path else datetime.datetime.now().timestamp()
    return body, etag, int(modified)
