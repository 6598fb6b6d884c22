"""/sources/: every source the site cites, grouped by kind, with the pages that cite it.

Like a content page, the list depends on nothing in the request, so it is rendered once and
kept with the page registry (`tilsite.rendered.rendered_once`), which is replaced when
sources.yaml or a page changes.
"""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from citations.catalogue import get_catalogue
from tilsite.rendered import rendered_once


@require_safe
@rendered_once
def source_list(request):
    catalogue = get_catalogue()
    groups = [
        (label, [(source, catalogue.cited_by.get(source.id, [])) for source in members])
        for label, members in catalogue.by_kind()
    ]
    return render(request, "citations/sources.html", {"groups": groups, "current_slug": "sources"})
