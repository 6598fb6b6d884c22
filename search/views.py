"""The search results page, /search/?q=... (and /es/search/?q=... for the Spanish pages).

A plain GET form (in every page's header, and at the top of this page) that works without
JavaScript. A results page sets no cookie and carries no token: it is the same for everyone
who asks the same thing, so the last RENDERED_PAGES_KEPT pages are kept with the index (not
with @rendered_once, which keys on the URL's path alone) and dropped when it is rebuilt.
A search that finds nothing is counted on every request, kept page or not. Browsers may keep
a page a few minutes; shared caches may not.
"""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from search.index import MAX_QUERY_LENGTH, clean_query, get_index
from search.models import UnfoundSearch

logger = logging.getLogger(__name__)
MAX_PAGE = 1000
BROWSER_CACHE_SECONDS = 300


@require_safe
def search(request):
    query = clean_query(request.GET.get("q", ""))
    page = request.GET.get("page", "1")
    page_number = int(page) if page.isascii() and page.isdigit() and len(page) < 5 else 1
    exact = request.GET.get("exact") == "1"
    index = get_index()
    key = (query, min(max(page_number, 1), MAX_PAGE), exact)
    kept = None if settings.CONTENT_RELOAD else index.rendered.get(key)
    if kept is None:
        outcome = index.search(query, page=key[1], exact=exact) if query else None
        response = render(
            request,
            "search/results.html",
            {
                "outcome": outcome,
                "query": query,
                "max_query_length": MAX_QUERY_LENGTH,
                "glossary_url": index.glossary_url,
                "current_slug": "search",
            },
        )
        kept = (response.content, response["Content-Type"], bool(outcome and outcome.found_nothing))
        if not settings.CONTENT_RELOAD:
            index.rendered.put(key, kept)
    body, content_type, found_nothing = kept
    if found_nothing and request.method == "GET":  # not link checkers' HEAD
        _count_unfound(query)
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=content_type)
    response["Content-Length"] = len(body)
    patch_cache_control(response, private=True, max_age=BROWSER_CACHE_SECONDS)
    response["X-Robots-Tag"] = "noindex"
    return response


def _count_unfound(query: str) -> None:
    try:
        UnfoundSearch.record(query)
    except DatabaseError:
        # The count is for staff; the reader still gets the page.
        logger.warning("could not count a search that found nothing", exc_info=True)
