"""Hostile and broken input to the question form never produces a 5xx or stores anything
invalid; what people type is escaped wherever it is shown."""

import logging
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inquiries.forms import InquiryForm
from inquiries.models import Inquiry
from tests.inquiries_helpers import form_data, run_worker

# Every field the form has, hidden ones (honeypot, came_from, form_stamp) included.
FIELDS = list(InquiryForm.base_fields)
ALLOWED_STATUSES = {200, 302, 400, 403, 413}
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\nBcc: victim@example.org",
    "x\nSubject: hi",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE inquiries_inquiry; --",
    "\u202egnp.exe",
    "e\u0301\u0301\u0301",
    "\U0001f600" * 50,
    '=HYPERLINK("http://evil.example")',
    "x" * 6000,
]
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
)


@pytest.fixture
def relaxed_limits(settings):
    settings.INQUIRY_RATE_LIMIT = 100_000
    settings.INQUIRY_MIN_FILL_SECONDS = 0


def check_response(response, before):
    assert response.status_code in ALLOWED_STATUSES, response.status_code
    if response.status_code != 302:
        assert Inquiry.objects.count() == before, "a refused submission was stored"


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS), hostile_text, max_size=6),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=3),
    duplicated=st.sets(st.sampled_from(FIELDS), max_size=2),
)
def test_arbitrary_field_values_never_cause_a_server_error(
    client, relaxed_limits, changes, dropped, duplicated
):
    data = form_data(**changes)
    for field in dropped:
        data.pop(field, None)
    for field in duplicated:
        data[field] = [data.get(field, ""), "second value"]
    before = Inquiry.objects.count()
    response = client.post("/contact/", data)
    check_response(response, before)
    if response.status_code == 302:
        stored = Inquiry.objects.order_by("-pk").first()
        for field in ("name", "email", "question"):
            value = getattr(stored, field)
            assert "\x00" not in value
        assert "\n" not in stored.name and "\r" not in stored.name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"name=%FF%FE&email=%C3%28", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\xfd", "application/x-www-form-urlencoded; charset=utf-8"),
        (b'{"name": "json"}', "application/json"),
        (b"plain text", "text/plain"),
        (b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\n', "multipart/form-data"),
        (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
        (b"name=a", "application/x-www-form-urlencoded; charset=not-a-charset"),
        (b"a=" + b"x" * (3 * 1024 * 1024), "application/x-www-form-urlencoded"),
        (b"&".join(b"f%d=1" % i for i in range(1500)), "application/x-www-form-urlencoded"),
    ],
)
def test_broken_bodies_and_content_types(client, relaxed_limits, body, content_type):
    before = Inquiry.objects.count()
    response = client.generic("POST", "/contact/", body, content_type=content_type)
    check_response(response, before)


SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def hostile_inquiry(db, client, relaxed_limits, mailoutbox):
    data = form_data(
        name=f"Eve {SCRIPT}",
        cancer_type=f"<b>bold</b>{SCRIPT}",
        question=f"Question {SCRIPT} <img src=x onerror=alert(1)>",
    )
    response = client.post("/contact/", data, follow=True)
    assert response.status_code == 200
    return Inquiry.objects.get(), response


def test_confirmation_page_escapes(hostile_inquiry):
    _, response = hostile_inquiry
    assert SCRIPT.encode() not in response.content


def test_admin_list_and_change_views_escape(hostile_inquiry, admin_client, settings):
    inquiry, _ = hostile_inquiry
    base = f"/{settings.ADMIN_URL}inquiries/inquiry/"
    for url in (f"{base}?status__exact=new", f"{base}{inquiry.pk}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert SCRIPT.encode() not in response.content
        assert b"&lt;script&gt;" in response.content


def test_emails_escape_html_and_keep_text_plain(hostile_inquiry, mailoutbox):
    run_worker()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        for body, mimetype in message.alternatives:
            if mimetype == "text/html":
                assert SCRIPT not in body
        assert "\n" not in message.subject and "<script>" not in message.subject


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every recipient, naming them in its error (as SMTP does)."""

    def send_messages(self, messages):
        refused = {address: (550, b"mailbox unavailable") for m in messages for address in m.to}
        raise smtplib.SMTPRecipientsRefused(refused)


REFUSING = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}
UNREACHABLE = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
    }
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mailers", [UNREACHABLE, REFUSING], ids=["unreachable", "refusing"])
def test_no_personal_data_in_logs(client, relaxed_limits, caplog, settings, mailers):
    """Names, addresses, phone numbers and questions never reach the logs, even when every
    send fails and is logged, and the mail server's error names the address."""
    settings.MAILERS = mailers
    settings.INQUIRY_EMAIL_RETRY_DELAYS = []
    personal = {
        "name": "Zebedee Quartermain",
        "email": "zebedee.q@example.org",
        "phone": "+44 7700 900123",
        "preferred_contact": "phone",
        "question": "Uniquely worded question about my xylophonic tumour",
        "cancer_type": "Rarecancerword",
    }
    caplog.set_level(logging.DEBUG)
    response = client.post("/contact/", form_data(**personal))
    assert response.status_code == 302
    run_worker()
    logged = caplog.text  # messages and formatted tracebacks
    assert "inquiries" in logged, "expected the failed sends to be logged"
    for field, value in personal.items():
        if field != "preferred_contact":
            assert value not in logged, field
