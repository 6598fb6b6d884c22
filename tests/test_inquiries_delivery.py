"""Delivery through a real SMTP server (aiosmtpd) that is down, then up: nothing is lost and
nothing arrives twice."""

import pytest
from django.urls import reverse
from django.utils import timezone

from inquiries.models import EmailDelivery, Inquiry
from tests.inquiries_helpers import (
    form_data,
    make_due_now,
    pending_emails,
    run_worker,
)

pytestmark = pytest.mark.django_db(transaction=True)


def ask(client):
    response = client.post("/contact/", form_data(email="carer@example.org"))
    assert response.status_code == 302
    return Inquiry.objects.get()


def test_emails_sent_while_the_mail_server_is_down_arrive_once_it_is_up(client, smtp):
    inquiry = ask(client)

    run_worker()  # the server is down
    for delivery in inquiry.deliveries.all():
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error.startswith("ConnectionRefusedError")
        assert delivery.next_attempt_at > timezone.now()
    assert smtp.messages == []
    assert pending_emails().count() == 2

    smtp.start()
    run_worker()  # the retries are not due yet
    assert smtp.messages == []

    make_due_now()
    run_worker()
    assert sorted(recipients[0] for recipients, _ in smtp.messages) == [
        "carer@example.org",
        "staff@example.org",
    ]
    by_recipient = {recipients[0]: message for recipients, message in smtp.messages}
    staff = by_recipient["staff@example.org"]
    assert staff["Subject"] == f"[TIL Therapy Information] New question {inquiry}: Side effects"
    assert staff["Message-ID"] == f"<inquiry.{inquiry.reference.lower()}.staff@127.0.0.1>"
    assert staff["Reply-To"] == "carer@example.org"
    acknowledgement = by_recipient["carer@example.org"]
    assert acknowledgement["Message-ID"] == (
        f"<inquiry.{inquiry.reference.lower()}.acknowledgement@127.0.0.1>"
    )
    for delivery in inquiry.deliveries.all():
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
        assert delivery.message_id.startswith(f"<inquiry.{inquiry.reference.lower()}.")

    # Whatever else runs later, each email has arrived exactly once.
    make_due_now()
    run_worker()
    assert len(smtp.messages) == 2
    assert not pending_emails().exists()


def test_the_admin_shows_the_delivery_after_the_retry(client, admin_client, smtp):
    inquiry = ask(client)
    run_worker()
    response = admin_client.get(reverse("admin:inquiries_inquiry_changelist"))
    assert "staff: pending, retrying (1 failed attempt)" in response.text
    smtp.start()
    make_due_now()
    run_worker()
    response = admin_client.get(reverse("admin:inquiries_inquiry_changelist"))
    sent_at = timezone.localtime(inquiry.deliveries.get(kind="staff").sent_at)
    assert f"staff: sent {sent_at:%d %b %Y %H:%M}" in response.text
    change = admin_client.get(reverse("admin:inquiries_inquiry_change", args=[inquiry.pk]))
    assert "ConnectionRefusedError" not in change.text  # the error was cleared on success
    assert "Staff notification" in change.text


def test_refused_recipients_are_retried_too(client, smtp):
    inquiry = ask(client)
    smtp.refuse = True
    smtp.start()
    run_worker()
    staff = inquiry.deliveries.get(kind=EmailDelivery.Kind.STAFF_NOTIFICATION)
    assert staff.status == "pending" and staff.attempts == 1
    assert staff.last_error.startswith("SMTPRecipientsRefused")
    assert smtp.messages == []

    smtp.refuse = False
    make_due_now()
    run_worker()
    assert len(smtp.messages) == 2
    assert set(inquiry.deliveries.values_list("status", flat=True)) == {"sent"}
