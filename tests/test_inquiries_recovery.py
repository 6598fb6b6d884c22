"""The outbox's claims: one worker per send, and a send whose worker died is taken up again."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from inquiries import outbox
from inquiries.models import EmailDelivery
from tests.inquiries_helpers import make_inquiry, run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings):
    settings.INQUIRY_STALLED_SEND_SECONDS = 60
    inquiry = make_inquiry()
    outbox.queue_emails(inquiry)
    return inquiry


def die_mid_send(worker_id="killed", started_seconds_ago=1):
    """What a killed worker leaves behind: both rows claimed, the attempts counted, no result."""
    started = timezone.now() - timedelta(seconds=started_seconds_ago)
    for _ in range(2):
        assert outbox.claim_next(worker_id) is not None
    EmailDelivery.objects.update(
        last_attempt_at=started, claimed_until=started + timedelta(seconds=60)
    )


def test_a_claim_is_won_by_one_worker_only(queued):
    first = outbox.claim_next("worker-a")
    second = outbox.claim_next("worker-b")
    assert first.delivery_id != second.delivery_id
    assert outbox.claim_next("worker-c") is None  # both rows are held
    claimed = dict(EmailDelivery.objects.values_list("pk", "claimed_by"))
    assert claimed == {first.delivery_id: "worker-a", second.delivery_id: "worker-b"}


def test_a_stale_read_cannot_claim_a_row_another_worker_won(queued):
    """The claim is one conditional UPDATE on what the worker read: the attempt count moved
    on, so a second worker that read the row before the first claimed it gets nothing."""
    delivery = queued.deliveries.get(kind="staff")
    assert outbox.claim_next("worker-a").delivery_id == delivery.pk
    won = EmailDelivery.objects.filter(pk=delivery.pk, attempts=0).update(claimed_by="worker-b")
    assert won == 0


def test_sends_held_by_a_live_worker_are_left_alone(queued, mailoutbox):
    die_mid_send(started_seconds_ago=10)
    run_worker()
    assert mailoutbox == []
    assert set(EmailDelivery.objects.values_list("claimed_by", flat=True)) == {"killed"}


def test_sends_whose_claim_expired_are_taken_up_by_any_worker(queued, mailoutbox):
    die_mid_send(started_seconds_ago=120)
    run_worker()
    assert len(mailoutbox) == 2
    for delivery in queued.deliveries.all():
        assert (delivery.status, delivery.attempts, delivery.claimed_by) == ("sent", 2, "")


def test_a_restarting_worker_takes_up_what_it_held_at_once(queued, mailoutbox):
    die_mid_send(worker_id="test-worker", started_seconds_ago=1)
    run_worker()  # the same worker id: its previous process is gone
    assert len(mailoutbox) == 2


def test_a_worker_of_another_id_does_not_release_those_claims(queued, mailoutbox):
    die_mid_send(worker_id="killed", started_seconds_ago=1)
    call_command("send_emails", batch=True, worker_id="another", verbosity=0)
    assert mailoutbox == []


def test_a_send_resent_by_staff_meanwhile_is_not_recorded_over(queued, mailoutbox):
    """A worker that claimed generation 0 finishes after staff resent: the new generation
    keeps its own state and is sent by its own claim."""
    claim = outbox.claim_next("slow-worker")
    delivery = EmailDelivery.objects.get(pk=claim.delivery_id)
    outbox.resend(delivery)
    assert outbox.send_claimed(claim, "slow-worker") == "superseded"
    delivery.refresh_from_db()
    assert (delivery.generation, delivery.status, delivery.attempts) == (1, "pending", 0)
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(mailoutbox) == 2


def test_nothing_is_sent_twice_on_purpose(queued, mailoutbox):
    run_worker()
    run_worker()
    assert len(mailoutbox) == 2
    assert outbox.claim_next("test-worker") is None
