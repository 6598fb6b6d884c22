"""What readers said about a page, and how many answers each client gave today.

A Feedback row holds the page's slug, yes or no, an optional comment and the day: nothing
about the person (no name, address, time of day or client key). FeedbackRateLimit counts a
client's answers per day under a keyed hash of its address, in a table of its own, so that no
answer can be traced back to a client; yesterday's rows are deleted as today's arrive.
"""

from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone

COMMENT_MAX_LENGTH = 500


class Feedback(models.Model):
    page_slug = models.CharField("page", max_length=100, db_index=True, editable=False)
    helpful = models.BooleanField(editable=False)
    comment = models.TextField(
        "what was missing or unclear",
        blank=True,
        validators=[MaxLengthValidator(COMMENT_MAX_LENGTH)],
        editable=False,
    )
    # The day only: a finer time would help tie an answer to a visit in a server log.
    day = models.DateField(default=timezone.localdate, db_index=True, editable=False)

    class Meta:
        verbose_name = "page feedback"
        verbose_name_plural = "page feedback"
        ordering = ("-day", "-id")

    def __str__(self):
        return f"{'Yes' if self.helpful else 'No'} on /{self.page_slug}/, {self.day:%d %b %Y}"


class FeedbackRateLimit(models.Model):
    """Answers (votes and comments) one client gave on one day.

    client_key is an HMAC of the client's address (or its IPv6 /64) under SECRET_KEY.
    """

    client_key = models.CharField(max_length=64)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["client_key", "day"], name="feedback_ratelimit_unique"),
        )
        indexes = (models.Index(fields=["day"], name="feedback_ratelimit_day_idx"),)

    def __str__(self):
        return f"{self.client_key[:12]}… on {self.day}: {self.count}"
