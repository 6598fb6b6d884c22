"""Keeping robots out without a CAPTCHA: a signed form stamp, a per-client rate limit, and
where the visitor came from, checked rather than trusted.

The honeypot field itself lives on the form (forms.py); what to do about each rejection is
decided in the view.
"""

import ipaddress
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from inquiries.models import RateLimitHit
from tilsite.client_ip import client_ip

FORM_STAMP_SALT = "inquiries.form-stamp"
CONFIRMATION_SALT = "inquiries.confirmation"
STATUS_SALT = "inquiries.status"
RATE_LIMIT_SALT = "inquiries.rate-limit"
# Page paths of this site, as the page engine makes them: no query, no fragment, no "..".
SAFE_PATH = re.compile(r"^/(?:[a-z0-9-]+/)*$")


class StampProblem(Exception):
    """The form stamp says this was not a person filling in a recent copy of the form."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "too-fast", "expired" or "invalid"


def make_form_stamp() -> str:
    """A tamper-proof record of when the form was shown (carried in a hidden field)."""
    return signing.dumps(round(time.time(), 3), salt=FORM_STAMP_SALT, compress=False)


def check_form_stamp(stamp: str) -> float:
    """Return how many seconds the form was open; raise StampProblem if that is implausible."""
    try:
        shown_at = signing.loads(stamp, salt=FORM_STAMP_SALT)
    except signing.BadSignature:
        raise StampProblem("invalid") from None
    if not isinstance(shown_at, (int, float)) or isinstance(shown_at, bool):
        raise StampProblem("invalid")
    # The signed value is the moment the form was shown, so its age needs no other clock.
    elapsed = time.time() - shown_at
    if elapsed > settings.INQUIRY_FORM_MAX_AGE_SECONDS:
        raise StampProblem("expired")
    if elapsed < settings.INQUIRY_MIN_FILL_SECONDS:
        raise StampProblem("too-fast")
    return elapsed


def sign_confirmation(reference: str, came_from: str = "") -> str:
    """The confirmation page's token: the reference (and page) signed, nothing looked up.

    The page shows only what the token carries, so a guessed or altered link shows nothing.
    """
    return signing.dumps({"ref": reference, "from": came_from}, salt=CONFIRMATION_SALT)


def read_confirmation(token: str, max_age: int = 7 * 24 * 60 * 60) -> dict | None:
    """{"ref": ..., "from": ...} from a confirmation token, or None if we did not make it."""
    try:
        value = signing.loads(token, salt=CONFIRMATION_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("ref"), str):
        return None
    return {"ref": value["ref"], "from": safe_came_from(value.get("from"))}


def client_key(request) -> str:
    """A keyed hash standing for the client: the address itself is never stored.

    The address is the one the site's own proxies saw (tilsite/client_ip.py, shared with the
    sign-in throttling), so a forged X-Forwarded-For entry cannot dodge the limit.

    IPv6 clients are grouped by their /64 network, which is what one household or phone gets.
    """
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        normalised = address or "unknown"
    else:
        if parsed.version == 6 and parsed.ipv4_mapped:
            parsed = parsed.ipv4_mapped
        if parsed.version == 6:
            normalised = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
        else:
            normalised = str(parsed)
    return salted_hmac(RATE_LIMIT_SALT, normalised, algorithm="sha256").hexdigest()


def is_rate_limited(key: str) -> bool:
    """Whether this client has used up its questions for the window (a read, for robots' hits;
    a question itself is decided by take_rate_limit_slot, in its own transaction)."""
    window_start = timezone.now() - timedelta(seconds=settings.INQUIRY_RATE_LIMIT_WINDOW_SECONDS)
    recent = RateLimitHit.objects.filter(client_key=key, created_at__gte=window_start)
    return recent.count() >= settings.INQUIRY_RATE_LIMIT


def record_hit(key: str) -> None:
    """Count one attempt for this client, and forget hits that left the window."""
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.INQUIRY_RATE_LIMIT_WINDOW_SECONDS)
    RateLimitHit.objects.filter(created_at__lt=window_start).delete()
    RateLimitHit.objects.create(client_key=key, created_at=now)


def take_rate_limit_slot(key: str) -> bool:
    """Count this question against the client's limit and say whether it is within it.

    Call inside the transaction that stores the question, and roll it back when this returns
    False: the check and the store are then one decision, even for simultaneous posts from
    one client. On PostgreSQL the client's posts wait for each other on a transaction-scoped
    advisory lock; SQLite runs one writing transaction at a time (IMMEDIATE, settings.py).
    """
    if connection.vendor == "postgresql":
        lock_id = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
    record_hit(key)
    window_start = timezone.now() - timedelta(seconds=settings.INQUIRY_RATE_LIMIT_WINDOW_SECONDS)
    recent = RateLimitHit.objects.filter(client_key=key, created_at__gte=window_start)
    return recent.count() <= settings.INQUIRY_RATE_LIMIT


def status_token(reference: str) -> str:
    """The person's status page address token: the reference, signed with SECRET_KEY.

    Unguessable without the key (the reference alone is not enough), stable for the life of
    the question (it is in the acknowledgement email), and worthless once the question is
    purged: the page looks the reference up and shows nothing for one that is gone.
    """
    return signing.Signer(salt=STATUS_SALT).sign(reference)


def read_status_token(token: str) -> str | None:
    """The reference a status token carries, or None for one we did not make."""
    try:
        return signing.Signer(salt=STATUS_SALT).unsign(token)
    except signing.BadSignature:
        return None


def same_origin(request) -> bool:
    """Whether a POST says it came from a page of this site: its Origin header or, when a
    browser sends none, its Referer names this scheme and host."""
    claimed = request.META.get("HTTP_ORIGIN") or request.META.get("HTTP_REFERER", "")
    if not claimed or claimed == "null":
        return False
    parts = urlsplit(claimed)
    return (parts.scheme, parts.netloc) == (request.scheme, request.get_host())


def safe_came_from(value: str | None, request=None) -> str:
    """A path on this site to record as the page the person came from, or "".

    Accepts a bare path ("/side-effects/") or a URL on this very host (from the Referer).
    Anything else (another site, a scheme, a query string, odd characters) is dropped.
    """
    if not value or len(value) > 200:
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        if request is None or parts.scheme not in {"http", "https"}:
            return ""
        if parts.netloc != request.get_host():
            return ""
    elif value != parts.path:
        return ""  # a bare value must be just a path
    path = parts.path or ""
    if not SAFE_PATH.match(path) or path.startswith("/contact/"):
        return ""
    return path
