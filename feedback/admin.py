"""Page feedback in the admin: read-only, listed newest first, filtered by page and answer.

What readers wrote cannot be edited by anyone. It can be deleted by someone with the delete
permission (not the reviewers' group), for a comment that holds personal details despite the
note beside the box.
"""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

from feedback.models import Feedback
from tilsite.pages import get_registry


class PageFilter(admin.SimpleListFilter):
    """The pages that have feedback, by title (a slug no page has any more is shown as is)."""

    title = "page"
    parameter_name = "page"

    def lookups(self, request, model_admin):
        registry = get_registry()
        # order_by: the default ordering (day) would otherwise make each row distinct.
        slugs = (
            Feedback.objects.order_by("page_slug").values_list("page_slug", flat=True).distinct()
        )
        titles = {slug: _page_title(registry, slug) for slug in slugs}
        return sorted(titles.items(), key=lambda item: item[1].lower())

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(page_slug=self.value())
        return queryset


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("day", "page_title", "answer", "comment_excerpt")
    list_filter = ("helpful", PageFilter, "day")
    search_fields = ("comment", "page_slug")
    date_hierarchy = "day"
    fields = ("page_title", "page_slug", "answer", "comment", "day")
    readonly_fields = fields
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="page", ordering="page_slug")
    def page_title(self, obj):
        registry = get_registry()
        page = registry.get(obj.page_slug)
        if page is None:
            return f"/{obj.page_slug}/ (no longer a page)"
        return format_html('<a href="{}">{}</a>', page.url, page.title)

    @admin.display(description="helpful?", ordering="helpful")
    def answer(self, obj):
        return "Yes" if obj.helpful else "No"

    @admin.display(description="what was missing or unclear")
    def comment_excerpt(self, obj):
        return Truncator(obj.comment).chars(120) if obj.comment else "-"


def _page_title(registry, slug: str) -> str:
    page = registry.get(slug)
    return page.title if page else f"/{slug}/ (no longer a page)"
