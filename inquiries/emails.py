"""The emails about an inquiry, built from templates under templates/emails/: the staff
notification, the acknowledgement, and each reply staff send from the admin.

Nothing a visitor typed reaches a mail header: subjects hold the reference and the topic's
label (both ours), the acknowledgement goes to the bare validated address, and the staff
email's Reply-To carries that address only after it passes validation again.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from inquiries.models import EmailDelivery, Inquiry, Reply
from inquiries.protection import status_token
from inquiries.replies import render_reply
from inquiries.routing import promised_reply_time, staff_recipients
from tilsite.languages import html_lang
from tilsite.pages import emergency_number_text

TEMPLATES: dict[str, str] = {
    EmailDelivery.Kind.STAFF_NOTIFICATION: "emails/inquiry_staff",
    EmailDelivery.Kind.ACKNOWLEDGEMENT: "emails/inquiry_acknowledgement",
    EmailDelivery.Kind.REPLY: "emails/inquiry_reply",
}


def header_safe(value: str) -> str:
    """One line, no control characters: for the few settings that reach a header."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def valid_address(address: str) -> str | None:
    """The address if it is a single, valid, one-line email address; otherwise None."""
    if not address or any(ch in address for ch in '\r\n,;<>"') or not address.isprintable():
        return None
    try:
        validate_email(address)
    except ValidationError:
        return None
    return address


def message_id(inquiry: Inquiry, kind: str, generation: int, reply: Reply | None = None) -> str:
    """A Message-ID that stays the same across retries of the same email.

    If a retry follows an attempt that did reach the server (say the connection dropped
    after the server accepted it), the receiving end sees the same Message-ID twice and can
    recognise the duplicate. A staff resend is a new generation, with a new Message-ID.
    """
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    suffix = f".{generation}" if generation else ""
    if reply is not None:
        kind = f"{kind}-{reply.pk}"
    return f"<inquiry.{inquiry.reference.lower()}.{kind}{suffix}@{domain}>"


def admin_change_url(inquiry: Inquiry) -> str:
    path = reverse("admin:inquiries_inquiry_change", args=[inquiry.pk])
    return settings.SITE_URL + path


def email_context(inquiry: Inquiry) -> dict:
    return {
        "inquiry": inquiry,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "admin_url": admin_change_url(inquiry),
        "include_message": settings.INQUIRY_EMAIL_INCLUDE_MESSAGE,
        "reply_time": promised_reply_time(),
        "opening_hours": settings.INQUIRY_OPENING_HOURS,
        "contact_url": settings.SITE_URL + reverse("inquiries:contact"),
        "status_url": settings.SITE_URL
        + reverse("inquiries:status", args=[status_token(inquiry.reference)]),
        "emergency": emergency_number_text(),
        "html_lang": html_lang(translation.get_language() or settings.LANGUAGE_CODE),
    }


def recipients_for(inquiry: Inquiry, kind: str) -> list[str]:
    if kind == EmailDelivery.Kind.STAFF_NOTIFICATION:
        return staff_recipients(inquiry)
    address = valid_address(inquiry.email)
    return [address] if address else []


def build_email(
    inquiry: Inquiry, kind: str, generation: int = 0, reply: Reply | None = None
) -> EmailMultiAlternatives:
    """The email, in the person's language for the person, in the site's for staff."""
    staff = kind == EmailDelivery.Kind.STAFF_NOTIFICATION
    language = settings.LANGUAGE_CODE if staff else inquiry.language or settings.LANGUAGE_CODE
    with translation.override(language):
        return _build_email(inquiry, kind, generation, reply)


def _build_email(
    inquiry: Inquiry, kind: str, generation: int = 0, reply: Reply | None = None
) -> EmailMultiAlternatives:
    template = TEMPLATES[kind]
    context = email_context(inquiry)
    if reply is not None:
        context["reply"] = render_reply(reply.body)
    subject = header_safe(render_to_string(f"{template}_subject.txt", context))
    # Templates end with a tag line; the body ends with exactly one line break.
    text = render_to_string(f"{template}.txt", context).rstrip("\n") + "\n"
    html = render_to_string(f"{template}.html", context)
    reply_to = []
    if kind == EmailDelivery.Kind.STAFF_NOTIFICATION and settings.INQUIRY_EMAIL_INCLUDE_MESSAGE:
        address = valid_address(inquiry.email)
        reply_to = [address] if address else []
    headers = {"Message-ID": message_id(inquiry, kind, generation, reply)}
    if kind != EmailDelivery.Kind.REPLY:  # a reply is written by a person
        # Ask autoresponders not to answer, and mark the email as sent by a machine.
        headers |= {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=recipients_for(inquiry, kind),
        reply_to=reply_to,
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    return email
