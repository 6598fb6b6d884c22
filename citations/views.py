"""/sources/: every source the site cites, grouped by kind, with the pages that cite it."""

import hashlib

from django.shortcuts import render
from django.views.decorators.http import condition, require_safe

from citations.catalogue import get_catalogue


def _etag(request):
    catalogue = get_catalogue()
    state = repr(sorted(catalogue.sources.items())) + repr(sorted(catalogue.cited_by.items()))
    return hashlib.blake2b(state.encode(), digest_size=12).hexdigest()


@require_safe
@condition(etag_func=_etag)
def source_list(request):
    catalogue = get_catalogue()
    groups = [
        (label, [(source, catalogue.cited_by.get(source.id, [])) for source in members])
        for label, members in catalogue.by_kind()
    ]
    return render(request, "citations/sources.html", {"groups": groups, "current_slug": "sources"})
