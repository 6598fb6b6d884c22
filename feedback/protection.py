"""Keeping robots out of page feedback without a cookie or a CSRF token.

Content pages are the same for everyone and cached whole (tilsite/rendered.py), so the form
at their foot cannot carry a token. Instead a vote must come from a page of this site (its
Origin or Referer), must leave the honeypot empty, and each client may give at most
FEEDBACK_RATE_LIMIT answers a day, counted in the database (every web process shares it).
A "No" and the comment that may follow are tied by a signed token, not a cookie.
"""

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from feedback.models import FeedbackRateLimit
from inquiries.protection import client_key as inquiry_client_key
from inquiries.protection import same_origin

__all__ = ["client_key", "make_comment_token", "read_comment_token", "same_origin", "take_slot"]

RATE_LIMIT_SALT = "feedback.rate-limit"
COMMENT_SALT = "feedback.comment"
# How long after a "No" its comment may still be sent.
COMMENT_TOKEN_MAX_AGE = 24 * 60 * 60

_purged_on = None  # the day this process last deleted earlier days' counts


def client_key(request) -> str:
    """A keyed hash standing for the client, different from the question form's: the two
    tables cannot be joined to follow one client."""
    # inquiry_client_key already normalises the address (IPv6 /64, proxies) and hashes it.
    return salted_hmac(RATE_LIMIT_SALT, inquiry_client_key(request), algorithm="sha256").hexdigest()


def take_slot(key: str) -> bool:
    """Count one answer for this client today and say whether it is within the limit.

    Call inside the transaction that stores the answer and roll it back when this returns
    False. The row's UPDATE holds its lock to the end of that transaction, so simultaneous
    answers from one client are counted one after the other.
    """
    global _purged_on
    today = timezone.localdate()
    if _purged_on != today:
        FeedbackRateLimit.objects.filter(day__lt=today).delete()
        _purged_on = today
    counts = FeedbackRateLimit.objects.filter(client_key=key, day=today)
    if not counts.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                FeedbackRateLimit.objects.create(client_key=key, day=today, count=1)
        except IntegrityError:  # another request from this client created it meanwhile
            counts.update(count=F("count") + 1)
    return counts.values_list("count", flat=True).get() <= settings.FEEDBACK_RATE_LIMIT


def make_comment_token(feedback_id: int, slug: str) -> str:
    """What the comment page needs, signed: which answer the comment joins, and its page."""
    return signing.dumps([feedback_id, slug], salt=COMMENT_SALT, compress=False)


def read_comment_token(token: str) -> tuple[int, str] | None:
    """(answer id, page slug) from a comment token, or None for a token we did not make or
    one older than COMMENT_TOKEN_MAX_AGE."""
    try:
        value = signing.loads(token, salt=COMMENT_SALT, max_age=COMMENT_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    match value:
        case [int() as feedback_id, str() as slug] if not isinstance(feedback_id, bool):
            return feedback_id, slug
    return None
