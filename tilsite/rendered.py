"""Responses rendered once and served many times: the one mechanism for pages that are the
same for everyone (content pages, /sources/).

A view decorated with `@rendered_once` renders its page as usual (a 200 HttpResponse that
depends on nothing in the request: no CSRF token, no CSP nonce, no user, no cookie). The
first response for each set of URL arguments is kept with the page registry, with a strong
ETag and its Last-Modified; later requests do no view or template work. Brotli and gzip
versions are compressed once, on first demand, and chosen by the request's Accept-Encoding
(`Vary: Accept-Encoding`, one ETag per version). Conditional requests get 304.

The kept responses live and die with the page registry: when content/ or sources.yaml
changes (development), the registry and every kept response are dropped together. With
CONTENT_RELOAD on (development) nothing is kept at all, so an edit to a template shows on the
next reload as well (settings.py turns the cached template loader off in debug).

Why a dict held by the registry rather than Django's cache framework: the kept responses must
be dropped exactly when the registry is (content and citations change together), and their
compressed versions are added lazily, which a cache would need to have set back. A local-memory
cache would also unpickle the page on every hit (8 µs for the longest page with its
compressed versions, measured; a dict lookup takes 0.04 µs), small beside the 160 µs a kept
page costs in Django, so the choice is about invalidation, not speed. The empty question
form, which is personal (token, stamp), uses the cache framework for its fields instead
(templates/inquiries/contact.html).
"""

import functools
import gzip
import hashlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import brotli
from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from tilsite.pages import get_registry

# Browsers and proxies may keep a page five minutes, then revalidate with the ETag.
CACHE_CONTROL = "public, max-age=300"
# Compressed once per page and worker, so the slowest, smallest settings pay off: a 27 KB page
# becomes 5.6 KB (brotli, about 0.1 s once) or 7 KB (gzip); bench/results/tuning.md has figures.
COMPRESSORS = {
    "br": lambda body: brotli.compress(body, mode=brotli.MODE_TEXT, quality=11),
    "gzip": lambda body: gzip.compress(body, compresslevel=9, mtime=0),
}


@dataclass
class RenderedPage:
    """A page's HTML, its validators, and its compressed versions once asked for."""

    body: bytes
    content_type: str
    etag: str
    last_modified: int | None = None
    encoded: dict = field(default_factory=dict)  # encoding: (body, etag)

    @classmethod
    def from_response(cls, response: HttpResponse) -> "RenderedPage":
        body = response.content
        modified = response.get("Last-Modified")
        return cls(
            body=body,
            content_type=response["Content-Type"],
            etag=f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"',
            last_modified=int(parsedate_to_datetime(modified).timestamp()) if modified else None,
        )

    def variant(self, encoding: str) -> tuple[bytes, str]:
        if encoding not in COMPRESSORS:
            return self.body, self.etag
        found = self.encoded.get(encoding)
        if found is None:
            # Each representation has its own strong ETag (RFC 9110, 8.8.3).
            etag = f'{self.etag[:-1]}-{encoding}"'
            found = self.encoded[encoding] = (COMPRESSORS[encoding](self.body), etag)
        return found

    def respond(self, request) -> HttpResponse:
        encoding = choose_encoding(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        body, etag = self.variant(encoding)
        response = get_conditional_response(request, etag=etag, last_modified=self.last_modified)
        if response is None:
            response = HttpResponse(
                b"" if request.method == "HEAD" else body, content_type=self.content_type
            )
            response["Content-Length"] = len(body)
            if encoding != "identity":
                response["Content-Encoding"] = encoding
        response["ETag"] = etag
        if self.last_modified is not None:
            response["Last-Modified"] = http_date(self.last_modified)
        response["Cache-Control"] = CACHE_CONTROL
        response["Vary"] = "Accept-Encoding"
        return response


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


def rendered_once(view):
    """Keep the view's 200 response per URL arguments (see the module docstring)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if settings.CONTENT_RELOAD:
            kept = None
            store: dict = {}
        else:
            store = get_registry().response_cache
            key = (view.__module__, view.__qualname__, args, tuple(sorted(kwargs.items())))
            kept = store.get(key)
        if kept is None:
            response = view(request, *args, **kwargs)
            if response.status_code != 200 or response.cookies:
                return response  # redirects, errors and anything personal are never kept
            kept = RenderedPage.from_response(response)
            if not settings.CONTENT_RELOAD:
                store[key] = kept
        return kept.respond(request)

    return wrapper
