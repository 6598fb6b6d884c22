"""Searches that found nothing, counted per query and day, so that staff can see what readers
look for and do not find (in the admin, and on the content dashboard through `top_unfound`).

Nothing about the person is kept: no address, no cookie, no time finer than the day. The query
is trimmed, lower-cased and cut to QUERY_MAX_LENGTH characters; an email address or a
telephone number typed into the box is replaced by a placeholder. Rows older than
RETENTION_DAYS are deleted as new ones are added.
"""

import datetime
import re

from django.db import IntegrityError, models, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from search.index import clean_query

QUERY_MAX_LENGTH = 100
RETENTION_DAYS = 365
EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
# Seven digits or more, with the spaces, dots, dashes and brackets people write between them,
# not part of a longer code (NCT05727904, C-144-01 stay as they are).
PHONE = re.compile(r"(?<![\w-])\+?\(?\d[\d\s().-]{5,}\d(?![\w-])")
MIN_PHONE_DIGITS = 7


def normalise_query(text: str) -> str:
    """The query as it is counted: no personal details, trimmed, lower case, 100 characters."""
    text = EMAIL.sub("[email]", clean_query(text))
    text = PHONE.sub(
        lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= MIN_PHONE_DIGITS else m[0],
        text,
    )
    return text.lower()[:QUERY_MAX_LENGTH].strip()


class UnfoundSearch(models.Model):
    """How many times on one day a search for this text found nothing."""

    query = models.CharField(max_length=QUERY_MAX_LENGTH)
    day = models.DateField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "search that found nothing"
        verbose_name_plural = "searches that found nothing"
        ordering = ("-day", "-count", "query")
        constraints = (
            models.UniqueConstraint(fields=("query", "day"), name="unfound_search_once_a_day"),
        )
        indexes = (models.Index(fields=("day",), name="unfound_search_day"),)

    def __str__(self):
        return f"{self.query} ({self.day}: {self.count})"

    @classmethod
    def record(cls, query: str) -> None:
        """Count one search for `query` that found nothing, today."""
        text = normalise_query(query)
        if not text:
            return
        day = timezone.localdate()
        counted = cls.objects.filter(query=text, day=day)
        try:
            with transaction.atomic():
                if counted.update(count=F("count") + 1):
                    return
                cls.objects.create(query=text, day=day)
        except IntegrityError:
            # Another request created today's row between our update and our insert.
            counted.update(count=F("count") + 1)
            return
        _forget_old_rows(day)

    @classmethod
    def top_unfound(cls, days: int = 30, limit: int = 20) -> list[dict]:
        """The queries that most often found nothing in the last `days` days (today included),
        most frequent first: [{"query", "count", "last_seen"}, ...]."""
        since = timezone.localdate() - datetime.timedelta(days=days - 1)
        rows = (
            cls.objects.filter(day__gte=since)
            .values("query")
            .annotate(count=Sum("count"), last_seen=Max("day"))
            .order_by("-count", "-last_seen", "query")
        )
        return list(rows[:limit])


_forgotten_on: datetime.date | None = None


def _forget_old_rows(today: datetime.date) -> None:
    """Delete rows older than RETENTION_DAYS, at most once a day in each process."""
    global _forgotten_on
    if _forgotten_on == today:
        return
    UnfoundSearch.objects.filter(day__lt=today - datetime.timedelta(days=RETENTION_DAYS)).delete()
    _forgotten_on = today


def top_unfound(days: int = 30, limit: int = 20) -> list[dict]:
    """For the content dashboard: see UnfoundSearch.top_unfound."""
    return UnfoundSearch.top_unfound(days=days, limit=limit)
