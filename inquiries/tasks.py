"""Sending an inquiry's emails from the task worker, with retries that outlast a mail outage.

Neither Django's tasks framework nor django-tasks-db retries a failed task, so the task does
it itself: each attempt is recorded on the inquiry's EmailDelivery row, and after a failure
the task enqueues itself again with run_after set to the next delay from
INQUIRY_EMAIL_RETRY_DELAYS, in the same transaction as the record. After the last delay the
delivery is marked failed and logged as an error; staff can resend it from the admin.

The task's arguments are (inquiry_id, kind, generation) as keyword arguments, so that
purge_inquiries can find the queued rows that belong to an inquiry.

A worker that dies in the middle of a send (killed, out of memory, machine lost) leaves its
task RUNNING for ever: django-tasks-db has no heartbeat. While any email is pending, a sweep
task (sweep_stalled_emails) therefore comes round every INQUIRY_STALLED_SEND_SECONDS, marks
such tasks failed and queues the send again. If the mail server had already accepted the
message before the worker died, the person or staff get it twice, with the same Message-ID.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from inquiries.emails import build_email, message_id
from inquiries.models import EmailDelivery, Inquiry

logger = logging.getLogger(__name__)

TASK_PATH = "inquiries.tasks.send_inquiry_email"
SWEEP_PATH = "inquiries.tasks.sweep_stalled_emails"


class WorkerStopped(Exception):
    """The worker running this task stopped before the task finished."""


ERROR_MAX_LENGTH = 1000


class EmailNotAccepted(Exception):
    """The mail backend returned without sending (no recipient, or nothing accepted)."""


def queue_emails(inquiry: Inquiry) -> list[EmailDelivery]:
    """Create the inquiry's two delivery records and queue their tasks.

    Call inside the transaction that saved the inquiry: the database task backend writes its
    rows in that same transaction, so either all of them exist or none does.
    """
    deliveries = [
        EmailDelivery.objects.create(inquiry=inquiry, kind=kind) for kind in EmailDelivery.Kind
    ]
    for delivery in deliveries:
        send_inquiry_email.enqueue(
            inquiry_id=inquiry.pk, kind=delivery.kind, generation=delivery.generation, attempt=0
        )
    schedule_sweep()
    return deliveries


def resend(delivery: EmailDelivery) -> None:
    """Send this email again, now, as a new generation (staff asked for it)."""
    with transaction.atomic():
        delivery = EmailDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.generation += 1
        delivery.status = EmailDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["generation", "status", "attempts", "next_attempt_at"])
        send_inquiry_email.enqueue(
            inquiry_id=delivery.inquiry_id,
            kind=delivery.kind,
            generation=delivery.generation,
            attempt=0,
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


@task()
def send_inquiry_email(*, inquiry_id: int, kind: str, generation: int, attempt: int = 0) -> str:
    """Make attempt number `attempt + 1` at one of an inquiry's emails.

    The attempt is claimed first, by a conditional update of the delivery's attempt count: of
    two tasks for the same attempt (a retry queued just before its worker died, and the
    recovery of that worker's task), only one sends; the other stands down.
    """
    delivery = (
        EmailDelivery.objects.select_related("inquiry")
        .filter(inquiry_id=inquiry_id, kind=kind)
        .first()
    )
    if delivery is None:
        return "gone"  # the inquiry was deleted (purged) while this waited in the queue
    if delivery.generation != generation:
        return "superseded"  # staff resent it; the newer task does the work
    if delivery.status != EmailDelivery.Status.PENDING:
        return f"already {delivery.status}"  # never send the same email twice on purpose
    attempted_at = timezone.now()
    claimed = EmailDelivery.objects.filter(
        pk=delivery.pk,
        generation=generation,
        status=EmailDelivery.Status.PENDING,
        attempts=attempt,
    ).update(attempts=attempt + 1, last_attempt_at=attempted_at)
    if not claimed:
        return "attempt already made"
    delivery.attempts = attempt + 1

    try:
        email = build_email(delivery.inquiry, kind, generation)
        if not email.recipients():
            raise EmailNotAccepted("no valid recipient address")
        if email.send() != 1:
            raise EmailNotAccepted("the mail backend did not accept the message")
    except Exception as error:
        # Handled here, not re-raised: the attempt and its error are on the EmailDelivery row
        # and the next attempt is queued. Re-raising would put the error text (which can name
        # an address) into the worker's log.
        return record_failure(delivery, attempted_at, error)
    record_success(delivery, attempted_at, email)
    return "sent"


def record_success(delivery: EmailDelivery, attempted_at, email) -> None:
    EmailDelivery.objects.filter(pk=delivery.pk, generation=delivery.generation).update(
        status=EmailDelivery.Status.SENT,
        last_attempt_at=attempted_at,
        next_attempt_at=None,
        sent_at=timezone.now(),
        last_error="",
        message_id=email.extra_headers["Message-ID"],
        recipients=", ".join(email.recipients()),
    )


def record_failure(delivery: EmailDelivery, attempted_at, error: BaseException) -> str:
    attempts = delivery.attempts  # this attempt was counted when it was claimed
    delay = retry_delay(attempts)
    changes = {
        "last_attempt_at": attempted_at,
        "last_error": describe_error(error),
        "message_id": message_id(delivery.inquiry, delivery.kind, delivery.generation),
    }
    if delay is None:
        changes |= {"status": EmailDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        changes |= {"next_attempt_at": timezone.now() + delay}
    with transaction.atomic():
        current = EmailDelivery.objects.filter(pk=delivery.pk, generation=delivery.generation)
        if current.update(**changes) and delay is not None:
            send_inquiry_email.using(run_after=changes["next_attempt_at"]).enqueue(
                inquiry_id=delivery.inquiry_id,
                kind=delivery.kind,
                generation=delivery.generation,
                attempt=attempts,
            )
    # Only the kind of error is logged; its full text (which may name an address) is kept on
    # the EmailDelivery row for staff.
    if delay is None:
        logger.error(
            "Gave up sending the %s email for inquiry %s after %d attempts (%s)",
            delivery.kind,
            delivery.inquiry.reference,
            attempts,
            type(error).__name__,
        )
        return "failed"
    logger.warning(
        "Could not send the %s email for inquiry %s (attempt %d), retrying in %s (%s)",
        delivery.kind,
        delivery.inquiry.reference,
        attempts,
        delay,
        type(error).__name__,
    )
    return "retrying"


def _stalled_before():
    return timezone.now() - timedelta(seconds=settings.INQUIRY_STALLED_SEND_SECONDS)


def schedule_sweep(*, from_sweep: bool = False) -> None:
    """Queue a sweep for later, unless one is already queued (or, outside a sweep, running)."""
    waiting = Q(status=TaskResultStatus.READY)
    if not from_sweep:
        waiting |= Q(status=TaskResultStatus.RUNNING, started_at__gte=_stalled_before())
    if DBTaskResult.objects.filter(waiting, task_path=SWEEP_PATH).exists():
        return
    run_after = timezone.now() + timedelta(seconds=settings.INQUIRY_STALLED_SEND_SECONDS)
    sweep_stalled_emails.using(run_after=run_after).enqueue()


def recover_stalled_emails(worker_id: str | None = None) -> int:
    """Queue again every pending email whose send task lost its worker; returns how many.

    Without worker_id: tasks running for longer than INQUIRY_STALLED_SEND_SECONDS. With it:
    every task that worker id had claimed, at once (call it when that worker starts again: its
    previous process is certainly gone).
    """
    running = DBTaskResult.objects.filter(task_path=TASK_PATH, status=TaskResultStatus.RUNNING)
    if worker_id is None:
        stalled = list(running.filter(started_at__lt=_stalled_before()))
    else:
        stalled = [row for row in running if row.worker_ids and row.worker_ids[-1] == worker_id]
    recovered = 0
    for task_row in stalled:
        arguments = task_row.args_kwargs.get("kwargs", {})
        with transaction.atomic():
            if not DBTaskResult.objects.filter(
                pk=task_row.pk, status=TaskResultStatus.RUNNING
            ).exists():
                continue  # finished, or recovered by someone else, meanwhile
            task_row.set_failed(WorkerStopped("the worker stopped during this send"))
            delivery = EmailDelivery.objects.filter(
                inquiry_id=arguments.get("inquiry_id"),
                kind=arguments.get("kind"),
                generation=arguments.get("generation"),
                status=EmailDelivery.Status.PENDING,
            ).first()
            if delivery is None:
                continue  # sent, failed for good, resent or purged: nothing to do
            already_queued = DBTaskResult.objects.filter(
                task_path=TASK_PATH,
                status=TaskResultStatus.READY,
                args_kwargs__kwargs__inquiry_id=delivery.inquiry_id,
                args_kwargs__kwargs__kind=delivery.kind,
                args_kwargs__kwargs__generation=delivery.generation,
            ).exists()
            if not already_queued:  # the dead task may have queued its retry already
                send_inquiry_email.enqueue(
                    inquiry_id=delivery.inquiry_id,
                    kind=delivery.kind,
                    generation=delivery.generation,
                    attempt=delivery.attempts,
                )
                recovered += 1
    if recovered:
        logger.warning("Queued %d email(s) again after their worker stopped mid-send", recovered)
    return recovered


@task()
def sweep_stalled_emails() -> int:
    """Recover sends whose worker stopped; come round again while emails are pending."""
    recovered = recover_stalled_emails()
    if EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING).exists():
        schedule_sweep(from_sweep=True)
    return recovered
