"""The two emails: exact contents, safe headers, retries with growing delays, resending."""

import runpy
import smtplib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from inquiries import outbox
from inquiries.checks import check_inquiry_settings
from inquiries.emails import build_email
from inquiries.models import EmailDelivery, Inquiry
from inquiries.protection import status_token
from tests.inquiries_helpers import (
    form_data,
    make_due_now,
    make_inquiry,
    pending_emails,
    run_worker,
)

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
# Run afresh each time: the environment already holds the test values settings_test.py set.
SETTINGS_FILE = str(REPO / "tilsite" / "settings.py")
RECEIVED = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


@pytest.fixture
def email_settings(settings):
    settings.SITE_NAME = "TIL Answers"
    settings.SITE_URL = "https://til.example.org"
    settings.DEFAULT_FROM_EMAIL = "TIL Answers <noreply@til.example.org>"
    settings.INQUIRY_NOTIFY_EMAILS = ["nurse@example.org", "desk@example.org"]
    settings.INQUIRY_REPLY_TIME = ""
    settings.INQUIRY_OPENING_HOURS = ""
    settings.INQUIRY_EMAIL_INCLUDE_MESSAGE = True
    settings.TIME_ZONE = "UTC"
    return settings


@pytest.fixture
def inquiry(email_settings):
    inquiry = make_inquiry(
        name="Maria O'Brien",
        email="maria@example.org",
        phone="020 7946 0000",
        preferred_contact=Inquiry.ContactMethod.PHONE,
        asking_as=Inquiry.AskingAs.CAREGIVER,
        cancer_type="Melanoma",
        topic=Inquiry.Topic.SIDE_EFFECTS,
        question="Is <fever> normal after TIL?\nHe feels tired & cold.",
        came_from="/side-effects/",
        received_at=RECEIVED,
    )
    Inquiry.objects.filter(pk=inquiry.pk).update(reference="TIL-7KQ2-M9XD")
    inquiry.refresh_from_db()
    outbox.queue_emails(inquiry)
    return inquiry


def sent(mailoutbox, kind):
    subject_start = "[TIL Answers] New question" if kind == "staff" else "Your question to"
    matches = [m for m in mailoutbox if m.subject.startswith(subject_start)]
    assert len(matches) == 1, [m.subject for m in mailoutbox]
    return matches[0]


# --- Contents ---------------------------------------------------------------------------------


def test_staff_notification_exactly(inquiry, mailoutbox):
    run_worker()
    email = sent(mailoutbox, "staff")
    admin_url = f"https://til.example.org/admin/inquiries/inquiry/{inquiry.pk}/change/"
    assert email.subject == "[TIL Answers] New question TIL-7KQ2-M9XD: Side effects"
    assert email.from_email == "TIL Answers <noreply@til.example.org>"
    assert email.to == ["nurse@example.org", "desk@example.org"]
    assert email.cc == [] and email.bcc == []
    assert email.reply_to == ["maria@example.org"]
    assert email.extra_headers["Message-ID"] == "<inquiry.til-7kq2-m9xd.staff@til.example.org>"
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    assert email.body == (
        "A new question has arrived through TIL Answers.\n"
        "\n"
        "Reference: TIL-7KQ2-M9XD\n"
        "Received: 2 March 2026, 09:05 UTC\n"
        "Topic: Side effects\n"
        "Asking as: A family member or caregiver\n"
        "Name: Maria O'Brien\n"
        "Email: maria@example.org\n"
        "Phone: 020 7946 0000\n"
        "Prefers a reply by: phone\n"
        "Type of cancer: Melanoma\n"
        "Came from: /side-effects/\n"
        "\n"
        "Question:\n"
        "Is <fever> normal after TIL?\n"
        "He feels tired & cold.\n"
        "\n"
        "Open it in the admin to assign it and record your answer:\n"
        f"{admin_url}\n"
        "\n"
        "Replying to this email writes to the person who asked.\n"
        "\n"
        "-- \n"
        "TIL Answers, https://til.example.org\n"
    )
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "<p>Is &lt;fever&gt; normal after TIL?<br>He feels tired &amp; cold.</p>" in html
    assert "<td>Maria O&#x27;Brien</td>" in html
    assert f'<a href="{admin_url}">Open TIL-7KQ2-M9XD in the admin</a>' in html
    assert "style=" not in html


def test_staff_notification_can_leave_the_question_out(inquiry, mailoutbox, settings):
    settings.INQUIRY_EMAIL_INCLUDE_MESSAGE = False
    run_worker()
    email = sent(mailoutbox, "staff")
    admin_url = f"https://til.example.org/admin/inquiries/inquiry/{inquiry.pk}/change/"
    assert email.reply_to == []
    assert email.body == (
        "A new question has arrived through TIL Answers.\n"
        "\n"
        "Reference: TIL-7KQ2-M9XD\n"
        "Received: 2 March 2026, 09:05 UTC\n"
        "Topic: Side effects\n"
        "\n"
        "The person's details and question are kept in the admin only.\n"
        "\n"
        "Open it in the admin to assign it and record your answer:\n"
        f"{admin_url}\n"
        "\n"
        "-- \n"
        "TIL Answers, https://til.example.org\n"
    )
    html = email.alternatives[0][0]
    for private in ["Maria", "maria@example.org", "fever", "7946", "Melanoma"]:
        assert private not in email.body and private not in html


def test_the_admin_link_follows_the_admin_url_setting(inquiry, mailoutbox, custom_admin_url):
    run_worker()
    body = sent(mailoutbox, "staff").body
    assert f"https://til.example.org/staff-desk/inquiries/inquiry/{inquiry.pk}/change/" in body
    assert "/admin/" not in body


def test_acknowledgement_exactly(inquiry, mailoutbox, settings):
    settings.INQUIRY_REPLY_TIME = "within 3 working days"
    settings.INQUIRY_OPENING_HOURS = "Monday to Friday, 9am to 5pm"
    run_worker()
    email = sent(mailoutbox, "acknowledgement")
    assert email.subject == "Your question to TIL Answers: reference TIL-7KQ2-M9XD"
    assert email.to == ["maria@example.org"]
    assert email.reply_to == [] and email.cc == [] and email.bcc == []
    assert email.extra_headers["Message-ID"] == (
        "<inquiry.til-7kq2-m9xd.acknowledgement@til.example.org>"
    )
    assert email.body == (
        "Hello,\n"
        "\n"
        "Thank you for your question to TIL Answers. We have received it.\n"
        "\n"
        "Your reference number is TIL-7KQ2-M9XD.\n"
        "\n"
        "What happens next\n"
        "- A member of our team will read your question and reply by phone, as you asked.\n"
        "- We aim to reply within 3 working days.\n"
        "- Our team reads questions Monday to Friday, 9am to 5pm.\n"
        "- If you write to us about this question, please give your reference number.\n"
        "- See where your question stands, and read our reply once it is sent: "
        f"https://til.example.org/contact/status/{status_token('TIL-7KQ2-M9XD')}/\n"
        "\n"
        "We do not give medical advice. Your own care team knows your situation best.\n"
        "\n"
        "This is not for emergencies\n"
        "If you have symptoms after treatment or feel unwell, do not wait for our reply. "
        "Contact your treatment team now, or call your local emergency number.\n"
        "\n"
        "If you did not send a question to TIL Answers, you can ignore this email.\n"
        "\n"
        "-- \n"
        "TIL Answers, https://til.example.org\n"
    )
    html = email.alternatives[0][0]
    assert "<strong>TIL-7KQ2-M9XD</strong>" in html
    assert "call your local emergency number" in html


def test_acknowledgement_without_reply_time_promises_nothing_specific(inquiry, mailoutbox):
    run_worker()
    body = sent(mailoutbox, "acknowledgement").body
    assert "We aim to reply" not in body and "reads questions" not in body


def test_acknowledgement_never_repeats_what_was_typed(inquiry, mailoutbox):
    """A stranger's address can be typed in; nothing they wrote must reach that inbox."""
    run_worker()
    email = sent(mailoutbox, "acknowledgement")
    everything = email.subject + email.body + email.alternatives[0][0]
    for typed in ["fever", "tired", "Maria", "O'Brien", "Brien", "7946", "Melanoma", "/side-"]:
        assert typed not in everything


# --- Headers ----------------------------------------------------------------------------------


def test_typed_text_never_reaches_a_header(email_settings):
    inquiry = make_inquiry(
        name="Eve\r\nBcc: victim@example.com",
        email="eve@example.org",
        cancer_type="x\nSubject: win",
        question="Hi\r\nBcc: victim@example.com\r\n\r\nspam",
    )
    for kind in EmailDelivery.Kind:
        raw = build_email(inquiry, kind).message().as_bytes().decode()
        headers = raw.split("\n\n", 1)[0]
        assert "victim@example.com" not in headers
        assert "Bcc" not in headers and "win" not in headers
        assert headers.count("Subject:") == 1 and headers.count("\nTo:") == 1


def test_an_address_that_fails_validation_is_never_used(email_settings):
    inquiry = make_inquiry(email="eve@example.org\nBcc: victim@example.com")
    staff = build_email(inquiry, EmailDelivery.Kind.STAFF_NOTIFICATION)
    acknowledgement = build_email(inquiry, EmailDelivery.Kind.ACKNOWLEDGEMENT)
    assert staff.reply_to == []
    assert acknowledgement.to == []


def test_an_unusable_address_is_recorded_as_a_failed_attempt_not_sent(email_settings, mailoutbox):
    inquiry = make_inquiry(email="not an address")
    outbox.queue_emails(inquiry)
    run_worker()
    delivery = inquiry.deliveries.get(kind="acknowledgement")
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error == "EmailNotAccepted: no valid recipient address"
    assert [m.subject for m in mailoutbox] == [
        f"[TIL Answers] New question {inquiry}: The treatment process"
    ]


def test_site_name_with_a_line_break_stays_on_one_subject_line(email_settings, settings):
    settings.SITE_NAME = "TIL\r\nBcc: victim@example.com"
    inquiry = make_inquiry()
    email = build_email(inquiry, EmailDelivery.Kind.ACKNOWLEDGEMENT)
    assert "\n" not in email.subject and "\r" not in email.subject
    assert "\nBcc" not in email.message().as_bytes().decode().split("\n\n", 1)[0]


def test_message_ids_are_stable_per_email_and_new_per_resend(email_settings):
    inquiry = make_inquiry()
    first = build_email(inquiry, "staff").extra_headers["Message-ID"]
    assert build_email(inquiry, "staff").extra_headers["Message-ID"] == first
    assert build_email(inquiry, "acknowledgement").extra_headers["Message-ID"] != first
    resent = build_email(inquiry, "staff", generation=1).extra_headers["Message-ID"]
    assert resent == first.replace(".staff@", ".staff.1@")


# --- Retries ----------------------------------------------------------------------------------


@pytest.fixture
def flaky_smtp(monkeypatch):
    """Make sending fail for the staff notification until .up is set."""

    class State:
        up = False
        attempts = 0

    real_send = EmailMultiAlternatives.send

    def send(self, *args, **kwargs):
        if self.subject.startswith("[") and not State.up:
            State.attempts += 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    return State


def test_a_failed_send_is_recorded_and_retried_with_growing_delays(
    inquiry, mailoutbox, flaky_smtp, settings, caplog
):
    settings.INQUIRY_EMAIL_RETRY_DELAYS = [60, 300, 1800]
    delivery = inquiry.deliveries.get(kind="staff")
    expected_delays = [60, 300, 1800]
    for attempt, delay in enumerate(expected_delays, start=1):
        before = timezone.now()
        run_worker()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        assert delivery.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
        assert delivery.last_attempt_at >= before
        assert delivery.claimed_by == ""  # released for whichever worker comes next
        wait = delivery.next_attempt_at - delivery.last_attempt_at
        assert timedelta(seconds=delay) <= wait < timedelta(seconds=delay + 5)
        run_worker()  # not due yet: nothing happens
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        make_due_now()
    assert f"Could not send the staff email for inquiry {inquiry.reference}" in caplog.text

    flaky_smtp.up = True
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 4, "")
    assert delivery.sent_at is not None and delivery.next_attempt_at is None
    assert delivery.message_id == "<inquiry.til-7kq2-m9xd.staff@til.example.org>"
    assert delivery.recipients == "nurse@example.org, desk@example.org"
    assert len([m for m in mailoutbox if m.subject.startswith("[")]) == 1
    assert pending_emails().count() == 0


def test_the_default_schedule_keeps_trying_for_more_than_a_day(settings):
    delays = runpy.run_path(SETTINGS_FILE)["INQUIRY_EMAIL_RETRY_DELAYS"]
    assert delays == sorted(delays) and delays[0] <= 60
    assert sum(delays) > 24 * 60 * 60


def test_after_the_last_retry_the_email_is_marked_failed(
    inquiry, mailoutbox, flaky_smtp, settings, caplog
):
    settings.INQUIRY_EMAIL_RETRY_DELAYS = [0, 0]  # due at once: one batch runs them all
    run_worker()
    delivery = inquiry.deliveries.get(kind="staff")
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.describe() == "failed after 3 attempts"
    assert delivery.next_attempt_at is None
    assert flaky_smtp.attempts == 3
    assert not pending_emails().exists()
    assert f"Gave up sending the staff email for inquiry {inquiry.reference}" in caplog.text
    assert inquiry.deliveries.get(kind="acknowledgement").status == "sent"


def test_a_backend_that_accepts_nothing_counts_as_a_failure(inquiry, monkeypatch):
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda self, *a, **k: 0)
    run_worker()
    delivery = inquiry.deliveries.get(kind="staff")
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "did not accept" in delivery.last_error


def test_staff_can_resend_and_older_queued_attempts_stand_down(
    inquiry, mailoutbox, flaky_smtp, settings
):
    settings.INQUIRY_EMAIL_RETRY_DELAYS = [3600]
    run_worker()  # fails; the retry waits an hour
    delivery = inquiry.deliveries.get(kind="staff")
    flaky_smtp.up = True
    outbox.resend(delivery)
    delivery.refresh_from_db()
    assert (delivery.generation, delivery.status, delivery.attempts) == (1, "pending", 0)
    assert delivery.next_attempt_at <= timezone.now()  # due now, not in an hour
    run_worker()
    staff_emails = [m for m in mailoutbox if m.subject.startswith("[")]
    assert len(staff_emails) == 1
    assert staff_emails[0].extra_headers["Message-ID"] == (
        "<inquiry.til-7kq2-m9xd.staff.1@til.example.org>"
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_an_email_already_sent_is_never_sent_again(inquiry, mailoutbox):
    run_worker()
    assert len(mailoutbox) == 2
    EmailDelivery.objects.update(next_attempt_at=timezone.now())
    run_worker()
    assert len(mailoutbox) == 2


def test_a_deleted_inquiry_takes_its_emails_with_it(inquiry, mailoutbox):
    Inquiry.objects.filter(pk=inquiry.pk).delete()
    run_worker()
    assert mailoutbox == []
    assert not EmailDelivery.objects.exists()


def test_the_whole_path_from_form_to_both_inboxes(client, mailoutbox, email_settings):
    client.post("/contact/", form_data(email="carer@example.org"))
    assert mailoutbox == []  # nothing is sent during the request
    run_worker()
    assert sorted(m.to[0] for m in mailoutbox) == ["carer@example.org", "nurse@example.org"]
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {"sent"}


# --- Configuration --------------------------------------------------------------------------


def test_system_check_passes_with_valid_recipients(settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["staff@example.org", "desk@localhost"]
    assert check_inquiry_settings() == []


def test_system_check_fails_without_recipients(settings):
    settings.INQUIRY_NOTIFY_EMAILS = []
    assert [error.id for error in check_inquiry_settings()] == ["inquiries.E001"]


def test_system_check_fails_on_an_invalid_recipient(settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["staff@example.org", "not-an-address"]
    errors = check_inquiry_settings()
    assert [error.id for error in errors] == ["inquiries.E002"]
    assert "not-an-address" in errors[0].msg


@pytest.mark.parametrize(
    ("name", "value", "error_id"),
    [
        ("INQUIRY_EMAIL_RETRY_DELAYS", [], "inquiries.E003"),
        ("INQUIRY_EMAIL_RETRY_DELAYS", [60, -1], "inquiries.E003"),
        ("INQUIRY_RATE_LIMIT", 0, "inquiries.E004"),
        ("INQUIRY_RETENTION_DAYS", 0, "inquiries.E004"),
        ("INQUIRY_MIN_FILL_SECONDS", -1, "inquiries.E004"),
        ("INQUIRY_REPLY_WORKING_DAYS", -2, "inquiries.E005"),
    ],
)
def test_system_check_fails_on_unusable_numbers(settings, name, value, error_id):
    setattr(settings, name, value)
    assert [error.id for error in check_inquiry_settings()] == [error_id]


def test_two_reply_time_promises_are_a_warning(settings):
    settings.INQUIRY_REPLY_TIME = "within a week"
    settings.INQUIRY_REPLY_WORKING_DAYS = 3
    assert [error.id for error in check_inquiry_settings()] == ["inquiries.W001"]


def test_retry_delays_from_the_environment_must_be_numbers(monkeypatch):
    monkeypatch.setenv("INQUIRY_EMAIL_RETRY_DELAYS", "60,soon")
    with pytest.raises(ImproperlyConfigured, match="INQUIRY_EMAIL_RETRY_DELAYS"):
        runpy.run_path(SETTINGS_FILE)


def test_inquiry_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("INQUIRY_EMAIL_INCLUDE_MESSAGE", "false")
    monkeypatch.setenv("INQUIRY_REPLY_TIME", "within 2 working days")
    monkeypatch.setenv("INQUIRY_EMAIL_RETRY_DELAYS", "10, 20")
    monkeypatch.setenv("INQUIRY_RETENTION_DAYS", "90")
    loaded = runpy.run_path(SETTINGS_FILE)
    assert loaded["INQUIRY_EMAIL_INCLUDE_MESSAGE"] is False
    assert loaded["INQUIRY_REPLY_TIME"] == "within 2 working days"
    assert loaded["INQUIRY_EMAIL_RETRY_DELAYS"] == [10, 20]
    assert loaded["INQUIRY_RETENTION_DAYS"] == 90


def test_the_check_runs_with_manage_py_check(settings):
    settings.INQUIRY_NOTIFY_EMAILS = []
    assert "inquiries.E001" in [message.id for message in run_checks()]
