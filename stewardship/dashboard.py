"""The content dashboard's lists: what needs a steward's attention, each a plain function of
the page registry, the source catalogue, the feedback table and (once it exists) site search.

Everything but the feedback and search lists comes from memory (the registry built at
start-up); reading grades are measured once per registry (stewardship/reading.py).
"""

import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from citations.catalogue import Catalogue, Source
from feedback.models import Feedback
from stewardship.reading import PageGrades, page_grades
from tilsite.pages import Page, PageRegistry

# A page is listed this many days before its next review is due, and every day after.
REVIEW_NOTICE_DAYS = 60
# A source read longer ago than this should be checked again (it may have changed).
SOURCE_ACCESSED_MAX_AGE_DAYS = 365
LATEST_COMMENTS_PER_PAGE = 3
UNFOUND_SEARCH_DAYS = 30


def all_pages(registry: PageRegistry) -> list[Page]:
    """Every page, home first, then in reading order."""
    home = [registry.home] if registry.home else []
    return [*home, *registry.reading_order]


@dataclass(frozen=True)
class ReviewDue:
    page: Page
    days_left: int  # negative: overdue by that many days

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left


def reviews_due(registry: PageRegistry, today: datetime.date) -> list[ReviewDue]:
    """Pages past their next review date or within REVIEW_NOTICE_DAYS of it, soonest first."""
    horizon = today + datetime.timedelta(days=REVIEW_NOTICE_DAYS)
    due = [page for page in registry.pages.values() if page.next_review <= horizon]
    return [
        ReviewDue(page, (page.next_review - today).days)
        for page in sorted(due, key=lambda page: (page.next_review, page.title))
    ]


def pages_without_reviewer(registry: PageRegistry) -> list[Page]:
    return [page for page in all_pages(registry) if not page.reviewed_by]


def uncited_sources(catalogue: Catalogue) -> list[Source]:
    return sorted(catalogue.uncited(), key=lambda source: source.id)


def sources_to_check(catalogue: Catalogue, today: datetime.date) -> list[Source]:
    """Sources last read more than SOURCE_ACCESSED_MAX_AGE_DAYS ago, longest ago first."""
    cutoff = today - datetime.timedelta(days=SOURCE_ACCESSED_MAX_AGE_DAYS)
    stale = [s for s in catalogue.sources.values() if s.accessed and s.accessed < cutoff]
    return sorted(stale, key=lambda source: (source.accessed, source.id))


@dataclass(frozen=True)
class PageReading:
    page: Page
    grades: PageGrades | None  # None: not measured (the dashboard says why)


def reading_levels(registry: PageRegistry) -> tuple[list[PageReading], bool]:
    """Every page with its grades, and whether they could be measured at all."""
    grades = page_grades(registry)
    rows = [PageReading(page, (grades or {}).get(page.slug)) for page in all_pages(registry)]
    return rows, grades is not None


@dataclass
class PageFeedback:
    slug: str
    page: Page | None  # None: feedback for a page that no longer exists
    yes: int = 0
    no: int = 0
    latest_comments: list[Feedback] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.page.title if self.page else f"/{self.slug}/ (no longer a page)"


def feedback_by_page(registry: PageRegistry) -> list[PageFeedback]:
    """Yes and No answers per page, with the latest comments; most No answers first.

    Two queries whatever the number of pages: the counts, and the latest comments per page
    (a window function numbers each page's comments, newest first).
    """
    rows: dict[str, PageFeedback] = {}
    counts = (
        Feedback.objects.values("page_slug")
        .annotate(yes=Count("id", filter=Q(helpful=True)), no=Count("id", filter=Q(helpful=False)))
        .order_by()
    )
    for count in counts:
        slug = count["page_slug"]
        rows[slug] = PageFeedback(slug, registry.get(slug), count["yes"], count["no"])
    latest = (
        Feedback.objects.exclude(comment="")
        .annotate(
            position=Window(
                RowNumber(), partition_by=F("page_slug"), order_by=(F("day").desc(), F("id").desc())
            )
        )
        .filter(position__lte=LATEST_COMMENTS_PER_PAGE)
        .order_by("page_slug", "position")
    )
    for answer in latest:
        if answer.page_slug in rows:
            rows[answer.page_slug].latest_comments.append(answer)
    return sorted(rows.values(), key=lambda row: (-row.no, -row.yes, row.title.lower()))


@dataclass(frozen=True)
class UnfoundSearch:
    query: str
    count: int
    last_seen: datetime.date


def unfound_searches(days: int = UNFOUND_SEARCH_DAYS) -> list[UnfoundSearch] | None:
    """Search terms that found nothing in the last `days` days, most asked first; None while
    site search is not installed (the dashboard then says so)."""
    if not apps.is_installed("search"):
        return None
    from search.models import top_unfound  # the search app is optional: imported only here

    return [
        UnfoundSearch(row["query"], row["count"], row["last_seen"])
        for row in top_unfound(days=days)
    ]
