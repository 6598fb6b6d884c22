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
