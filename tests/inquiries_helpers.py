"""Small builders shared by the inquiries tests: valid form data, stored inquiries, the worker."""

import email
import importlib
import re
import socket
import time
from html.parser import HTMLParser

from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core import signing
from django.core.management import call_command
from django.utils import timezone

from inquiries.models import EmailDelivery, Inquiry
from inquiries.protection import FORM_STAMP_SALT


def stamp(seconds_ago: float = 60) -> str:
    """A form stamp as if the form had been shown this many seconds ago."""
    return signing.dumps(round(time.time() - seconds_ago, 3), salt=FORM_STAMP_SALT)


def form_data(**overrides) -> dict:
    data = {
        "name": "Maria Lopez",
        "email": "maria@example.org",
        "phone": "",
        "preferred_contact": "email",
        "asking_as": "caregiver",
        "cancer_type": "Melanoma",
        "topic": "side-effects",
        "question": "My husband starts TIL therapy next month.\nWhat side effects are common?",
        "consent": "on",
        "website": "",
        "came_from": "/side-effects/",
        "form_stamp": stamp(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def make_inquiry(**overrides) -> Inquiry:
    values = {
        "name": "Sam Patel",
        "email": "sam@example.org",
        "preferred_contact": Inquiry.ContactMethod.EMAIL,
        "asking_as": Inquiry.AskingAs.PATIENT,
        "topic": Inquiry.Topic.TREATMENT_PROCESS,
        "question": "How long is the hospital stay?",
        "consent_given_at": timezone.now(),
    }
    values.update(overrides)
    status = values.pop("status", None)
    inquiry = Inquiry(**values)
    inquiry.save_with_new_reference()
    if status:
        inquiry.status = status
        inquiry.save()
    return inquiry


def reviewers_group() -> Group:
    """The "Inquiry reviewers" group, made by the data migration.

    Transactional tests (live server, browser) empty every table afterwards, migration data
    included, so they call the migration's own function again.
    """
    migration = importlib.import_module("inquiries.migrations.0002_inquiry_reviewers_group")
    migration.create_group(django_apps, None)
    importlib.import_module("inquiries.migrations.0005_reviewers_reply_permissions").grant(
        django_apps, None
    )
    importlib.import_module("feedback.migrations.0002_reviewers_can_view_feedback").grant(
        django_apps, None
    )
    return Group.objects.get(name=migration.GROUP_NAME)


def pending_emails():
    """The outbox's rows still waiting to be sent."""
    return EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING)


def make_due_now() -> None:
    """Bring every waiting retry forward to now, as if its delay had passed."""
    pending_emails().update(next_attempt_at=timezone.now())


def run_worker() -> None:
    """Send every email that is due, then return (the outbox worker's batch mode)."""
    call_command("send_emails", batch=True, worker_id="test-worker", verbosity=0)


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str, tag: str | None = None, **attrs) -> list[dict]:
    """Attributes of every element in html matching the tag and attribute values given."""
    parser = _Elements()
    parser.feed(html)
    return [
        found
        for name, found in parser.elements
        if (tag is None or name == tag)
        and all(found.get(key.rstrip("_")) == value for key, value in attrs.items())
    ]


def element(html: str, tag: str | None = None, **attrs) -> dict:
    matches = elements(html, tag, **attrs)
    assert len(matches) == 1, f"expected one <{tag} {attrs}>, found {len(matches)}"
    return matches[0]


def text_of(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed, for reading assertions."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


class Inbox:
    """An aiosmtpd handler that keeps what it accepts (and can refuse recipients)."""

    def __init__(self):
        self.messages = []
        self.refuse = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
