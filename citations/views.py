"""/sources/: every source the site cites, grouped by kind, with the pages that cite it.

Like a content page, the list depends on nothing in the request: it is rendered once per
catalogue (the catalogue is replaced when sources.yaml or a page changes) and kept, with a
strong ETag for conditional requests.
"""

import hashlib
import threading

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from citations.catalogue import Catalogue, get_catalogue

CACHE_CONTROL = "public, max-age=300"
_rendered: tuple[Catalogue, bytes, str] | None = None
_lock = threading.Lock()


def _render(request, catalogue: Catalogue) -> tuple[bytes, str]:
    global _rendered
    cached = _rendered
    if cached is not None and cached[0] is catalogue:
        return cached[1], cached[2]
    groups = [
        (label, [(source, catalogue.cited_by.get(source.id, [])) for source in members])
        for label, members in catalogue.by_kind()
    ]
    body = render_to_string(
        "citations/sources.html", {"groups": groups, "current_slug": "sources"}, request
    ).encode()
    etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    with _lock:
        _rendered = (catalogue, body, etag)
    return body, etag


@require_safe
def source_list(request):
    body, etag = _render(request, get_catalogue())
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(b"" if request.method == "HEAD" else body)
        response["Content-Length"] = len(body)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response
