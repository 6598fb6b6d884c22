"""The email outbox: each inquiry email is an EmailDelivery row, sent by the outbox worker.

The guarantee rests on our own table and nothing else:

- The question's view creates its two rows (due now) in the transaction that stores the
  question, so an accepted question always has its emails waiting, and a rolled-back one none.
- The worker (`manage.py send_emails`) claims a due row with one conditional UPDATE (due,
  pending, not claimed or its claim expired, and the attempt count it read): of two workers,
  only one wins the row. The claim counts the attempt and holds the row for
  INQUIRY_STALLED_SEND_SECONDS.
- A failed send is recorded on the row with the time of the next attempt, from
  INQUIRY_EMAIL_RETRY_DELAYS; after the last delay the row is marked failed and logged.
- A worker killed mid-send leaves its claim behind. The claim expires after
  INQUIRY_STALLED_SEND_SECONDS and any worker takes the row up again; a worker starting under
  the same id releases its previous process's claims at once. If the mail server had accepted
  the message before the worker died, it arrives twice, with the same Message-ID.
- Staff resending an email start a new generation: a worker still sending the old one cannot
  record over it, and the new email has its own Message-ID.
"""

import logging
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from inquiries.emails import build_email, message_id
from inquiries.models import EmailDelivery, Inquiry

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 1000
# Rows looked at per claim: a few, so that a claim lost to another worker moves on at once.
CLAIM_CANDIDATES = 5


class EmailNotAccepted(Exception):
    """The mail backend returned without sending (no recipient, or nothing accepted)."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}-outbox"


def queue_emails(inquiry: Inquiry) -> list[EmailDelivery]:
    """Create the new inquiry's two delivery rows (staff notification, acknowledgement), due
    now. Call in the transaction that saved it."""
    now = timezone.now()
    return EmailDelivery.objects.bulk_create(
        EmailDelivery(inquiry=inquiry, kind=kind, next_attempt_at=now)
        for kind in (EmailDelivery.Kind.STAFF_NOTIFICATION, EmailDelivery.Kind.ACKNOWLEDGEMENT)
    )


def resend(delivery: EmailDelivery) -> None:
    """Send this email again, now, as a new generation (staff asked for it)."""
    with transaction.atomic():
        delivery = EmailDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.generation += 1
        delivery.status = EmailDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.claimed_by = ""
        delivery.claimed_until = None
        delivery.save(
            update_fields=[
                "generation",
                "status",
                "attempts",
                "next_attempt_at",
                "claimed_by",
                "claimed_until",
            ]
        )


def retry_delay(failed_attempts: int) -> timedelta | None:
    """How long to wait after this many failed attempts, or None to give up."""
    delays = settings.INQUIRY_EMAIL_RETRY_DELAYS
    if failed_attempts > len(delays):
        return None
    return timedelta(seconds=delays[failed_attempts - 1])


def describe_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[:ERROR_MAX_LENGTH]


def _claimable(now) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def due() -> models.QuerySet[EmailDelivery]:
    """Pending rows whose next attempt is due and that no live worker holds."""
    now = timezone.now()
    return EmailDelivery.objects.filter(
        _claimable(now), status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now
    )


@dataclass(frozen=True)
class Claim:
    """A row this worker won: which generation, and which attempt this is (1-based)."""

    delivery_id: int
    generation: int
    attempt: int
    claimed_at: object


def claim_next(worker_id: str) -> Claim | None:
    """Claim the longest-waiting due row, or return None when nothing is due."""
    now = timezone.now()
    lease = timedelta(seconds=settings.INQUIRY_STALLED_SEND_SECONDS)
    candidates = (
        due()
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "generation", "attempts")[:CLAIM_CANDIDATES]
    )
    for pk, generation, attempts in candidates:
        won = (
            EmailDelivery.objects.filter(
                _claimable(now),
                pk=pk,
                generation=generation,
                attempts=attempts,
                status=EmailDelivery.Status.PENDING,
            ).update(
                claimed_by=worker_id,
                claimed_until=now + lease,
                attempts=attempts + 1,
                last_attempt_at=now,
            )
            == 1
        )
        if won:
            return Claim(pk, generation, attempts + 1, now)
    return None


def send_claimed(claim: Claim, worker_id: str) -> str:
    """Make the claimed attempt and record what happened; returns sent/retrying/failed."""
    delivery = (
        EmailDelivery.objects.select_related("inquiry", "reply")
        .filter(pk=claim.delivery_id)
        .first()
    )
    if delivery is None or delivery.generation != claim.generation:
        return "superseded"  # purged, or resent by staff, since the claim
    try:
        email = build_email(delivery.inquiry, delivery.kind, delivery.generation, delivery.reply)
        if not email.recipients():
            raise EmailNotAccepted("no valid recipient address")
        if email.send() != 1:
            raise EmailNotAccepted("the mail backend did not accept the message")
    except Exception as error:
        # Handled here, not raised: the error's text (which can name an address) goes on the
        # row for staff, and only its kind goes to the log.
        return _record_failure(delivery, claim, worker_id, error)
    _mine(claim, worker_id).update(
        status=EmailDelivery.Status.SENT,
        next_attempt_at=None,
        sent_at=timezone.now(),
        last_error="",
        message_id=email.extra_headers["Message-ID"],
        recipients=", ".join(email.recipients()),
        claimed_by="",
        claimed_until=None,
    )
    return "sent"


def _mine(claim: Claim, worker_id: str):
    """The claimed row, as long as it is still this worker's claim of this generation."""
    return EmailDelivery.objects.filter(
        pk=claim.delivery_id,
        generation=claim.generation,
        attempts=claim.attempt,
        claimed_by=worker_id,
    )


def _record_failure(delivery: EmailDelivery, claim: Claim, worker_id: str, error) -> str:
    delay = retry_delay(claim.attempt)
    changes: dict[str, object] = {
        "last_error": describe_error(error),
        "message_id": message_id(
            delivery.inquiry, delivery.kind, delivery.generation, delivery.reply
        ),
        "claimed_by": "",
        "claimed_until": None,
    }
    if delay is None:
        changes |= {"status": EmailDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        changes |= {"next_attempt_at": timezone.now() + delay}
    _mine(claim, worker_id).update(**changes)
    if delay is None:
        logger.error(
            "Gave up sending the %s email for inquiry %s after %d attempts (%s)",
            delivery.kind,
            delivery.inquiry.reference,
            claim.attempt,
            type(error).__name__,
        )
        return "failed"
    logger.warning(
        "Could not send the %s email for inquiry %s (attempt %d), retrying in %s (%s)",
        delivery.kind,
        delivery.inquiry.reference,
        claim.attempt,
        delay,
        type(error).__name__,
    )
    return "retrying"


def release_claims(worker_id: str) -> int:
    """Free the rows a previous process under this worker id held (it is gone: we are it)."""
    released = EmailDelivery.objects.filter(
        claimed_by=worker_id, status=EmailDelivery.Status.PENDING
    ).update(claimed_by="", claimed_until=None)
    if released:
        logger.warning("Released %d email(s) this worker id held when it stopped", released)
    return released


def send_due(worker_id: str, limit: int | None = None) -> int:
    """Send what is due now, one row at a time; returns how many attempts were made."""
    made = 0
    while limit is None or made < limit:
        claim = claim_next(worker_id)
        if claim is None:
            break
        send_claimed(claim, worker_id)
        made += 1
    return made
