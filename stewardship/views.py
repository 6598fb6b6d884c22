"""The content dashboard: an admin page (behind the admin's sign-in) listing what needs a
steward's attention. It shows what readers wrote, so it is open to staff who may view page
feedback (the "Inquiry reviewers" group may; feedback/migrations/0002)."""

import datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_safe

from stewardship import dashboard
from stewardship.reading import IN_SHORT_MAX_GRADE, PAGE_MAX_GRADE
from tilsite.pages import get_registry

PERMISSION = "feedback.view_feedback"


@require_safe
def content_dashboard(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    registry = get_registry()
    # The same clock as a page's own "overdue" and the content.W001 check.
    today = datetime.date.today()
    readings, measured = dashboard.reading_levels(registry)
    context = {
        **admin.site.each_context(request),
        "title": "Content dashboard",
        "today": today,
        "review_notice_days": dashboard.REVIEW_NOTICE_DAYS,
        "reviews_due": dashboard.reviews_due(registry, today),
        "pages_without_reviewer": dashboard.pages_without_reviewer(registry),
        "uncited_sources": dashboard.uncited_sources(registry.catalogue),
        "sources_to_check": dashboard.sources_to_check(registry.catalogue, today),
        "source_max_age_days": dashboard.SOURCE_ACCESSED_MAX_AGE_DAYS,
        "readings": readings,
        "grades_measured": measured,
        "in_short_max_grade": IN_SHORT_MAX_GRADE,
        "page_max_grade": PAGE_MAX_GRADE,
        "feedback": dashboard.feedback_by_page(registry),
        "unfound_searches": dashboard.unfound_searches(),
        "unfound_search_days": dashboard.UNFOUND_SEARCH_DAYS,
    }
    return render(request, "admin/content_dashboard.html", context)
