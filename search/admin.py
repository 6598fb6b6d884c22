"""Searches that found nothing, for staff: what readers look for and this site does not have.

Rows are counted by the search page, never typed in: staff can read and delete them only.
"""

from django.contrib import admin

from search.models import UnfoundSearch


@admin.register(UnfoundSearch)
class UnfoundSearchAdmin(admin.ModelAdmin):
    list_display = ("query", "day", "count")
    list_filter = ("day",)
    search_fields = ("query",)
    date_hierarchy = "day"
    ordering = ("-day", "-count", "query")
    readonly_fields = ("query", "day", "count")
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
