"""A worker that dies in the middle of a send leaves its task RUNNING for ever; the sweep for
stalled sends queues the email again, so it is still delivered."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from inquiries import tasks
from inquiries.models import EmailDelivery
from tests.inquiries_helpers import email_tasks, make_inquiry, run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings):
    settings.INQUIRY_STALLED_SEND_SECONDS = 60
    inquiry = make_inquiry()
    tasks.queue_emails(inquiry)
    return inquiry


def sweeps():
    return DBTaskResult.objects.filter(task_path=tasks.SWEEP_PATH)


def die_mid_send(started_seconds_ago):
    """What a killed worker leaves behind: its tasks claimed and never finished."""
    started = timezone.now() - timedelta(seconds=started_seconds_ago)
    email_tasks().update(status="RUNNING", started_at=started, worker_ids=["killed"])


def test_queuing_emails_schedules_one_sweep(queued):
    assert sweeps().filter(status="READY").count() == 1
    tasks.queue_emails(make_inquiry(email="second@example.org"))
    assert sweeps().filter(status="READY").count() == 1


def test_stalled_sends_are_queued_again_and_delivered(queued, mailoutbox):
    die_mid_send(started_seconds_ago=120)
    assert tasks.recover_stalled_emails() == 2
    assert email_tasks().filter(status="FAILED").count() == 2
    assert "WorkerStopped" in email_tasks().filter(status="FAILED").first().exception_class_path
    run_worker()
    assert len(mailoutbox) == 2
    assert set(queued.deliveries.values_list("status", flat=True)) == {"sent"}


def test_a_send_still_within_its_time_is_left_alone(queued):
    die_mid_send(started_seconds_ago=10)
    assert tasks.recover_stalled_emails() == 0
    assert email_tasks().filter(status="RUNNING").count() == 2


def test_an_email_already_sent_is_not_queued_again(queued):
    die_mid_send(started_seconds_ago=120)
    queued.deliveries.update(status=EmailDelivery.Status.SENT)
    assert tasks.recover_stalled_emails() == 0
    assert not email_tasks().filter(status="READY").exists()


def test_the_sweep_comes_round_while_emails_are_pending_then_stops(queued, mailoutbox):
    die_mid_send(started_seconds_ago=120)
    sweeps().update(run_after=timezone.now())
    run_worker()  # the sweep recovers both sends (and comes round again); they are sent
    assert len(mailoutbox) == 2
    assert sweeps().filter(status="SUCCESSFUL").count() == 1
    sweeps().filter(status="READY").update(run_after=timezone.now())
    run_worker()  # nothing pending any more: this sweep does not schedule another
    assert sweeps().filter(status="SUCCESSFUL").count() == 2
    assert not sweeps().filter(status="READY").exists()


def test_the_sweep_reschedules_itself_while_emails_wait(queued, settings):
    settings.INQUIRY_EMAIL_RETRY_DELAYS = [3600]
    sweeps().update(run_after=timezone.now())
    email_tasks().update(run_after=timezone.now() + timedelta(hours=1))  # not yet due
    run_worker()
    assert sweeps().filter(status="SUCCESSFUL").count() == 1
    assert sweeps().filter(status="READY").count() == 1


def test_two_tasks_for_the_same_attempt_send_once(queued, mailoutbox):
    """A retry queued just before its worker died, and the recovery of that worker's task,
    both ask for the same attempt: only one of them sends."""
    staff = queued.deliveries.get(kind="staff")
    for _ in range(2):
        tasks.send_inquiry_email.enqueue(
            inquiry_id=queued.pk, kind="staff", generation=0, attempt=staff.attempts
        )
    run_worker()
    assert len([m for m in mailoutbox if m.subject.startswith("[")]) == 1  # staff, once
    assert len(mailoutbox) == 2  # and the acknowledgement once
    staff.refresh_from_db()
    assert (staff.status, staff.attempts) == ("sent", 1)
    returned = sorted(email_tasks().values_list("return_value", flat=True))
    assert returned.count("attempt already made") + returned.count("already sent") == 2


def test_a_restarting_worker_recovers_what_it_had_claimed_at_once(queued, mailoutbox):
    die_mid_send(started_seconds_ago=1)  # too fresh for the timed sweep
    assert tasks.recover_stalled_emails() == 0
    assert tasks.recover_stalled_emails(worker_id="another-worker") == 0
    assert tasks.recover_stalled_emails(worker_id="killed") == 2
    run_worker()
    assert len(mailoutbox) == 2


def test_recovery_does_not_queue_twice_when_a_retry_is_waiting(queued):
    die_mid_send(started_seconds_ago=120)
    staff = queued.deliveries.get(kind="staff")
    tasks.send_inquiry_email.enqueue(
        inquiry_id=queued.pk, kind="staff", generation=0, attempt=staff.attempts
    )
    assert tasks.recover_stalled_emails() == 1  # only the acknowledgement needed queuing
    assert email_tasks().filter(status="READY").count() == 2


def test_recover_command(queued, capsys):
    from django.core.management import call_command

    die_mid_send(started_seconds_ago=1)
    call_command("recover_stalled_emails", worker_id="killed")
    assert "2 email(s) queued again." in capsys.readouterr().out
