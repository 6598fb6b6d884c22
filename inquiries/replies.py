"""Answering from the admin: page links in replies, and sending a reply through the outbox.

A reply (or a saved answer) may point to a page of the site as [[slug]]. Before anything is
sent, every slug must name a page that exists; in the email it becomes the page's title and
full address. A sent reply is stored (who, when, what), its email is a row of the outbox like
the other emails (retried, recorded, never lost), and the inquiry moves to "answered".
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import SafeString, mark_safe

from inquiries.models import EmailDelivery, Inquiry, Reply
from tilsite.pages import Page, default_language, get_registry, twins

PAGE_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")


@dataclass(frozen=True)
class RenderedReply:
    text: str  # for the plain-text email: titles with their full addresses
    html: SafeString  # for the HTML email and the person's status page
    unknown: list[str]  # [[...]] that name no page


def linked_page(slug: str) -> Page | None:
    """The page `slug` names (an English slug, or one of the active language), in the active
    language when it is translated: a Spanish reply points to Spanish pages."""
    registry = get_registry()
    page = get_registry(default_language()).get(slug) or registry.get(slug)
    if page is None:
        return None
    return twins(page).get(registry.language, page)


def render_reply(body: str) -> RenderedReply:
    unknown: list[str] = []

    def page_for(match):
        slug = match.group(1).strip()
        page = linked_page(slug)
        if page is None:
            unknown.append(slug)
        return page

    def as_text(match):
        page = page_for(match)
        return f"{page.title} ({settings.SITE_URL}{page.url})" if page else match.group(0)

    text = PAGE_LINK.sub(as_text, body)
    # HTML: escape the text, then put links where the markers were (markers hold no HTML).
    pieces, last = [], 0
    for match in PAGE_LINK.finditer(body):
        pieces.append(escape(body[last : match.start()]))
        page = linked_page(match.group(1).strip())
        pieces.append(
            format_html('<a href="{}{}">{}</a>', settings.SITE_URL, page.url, page.title)
            if page
            else escape(match.group(0))
        )
        last = match.end()
    pieces.append(escape(body[last:]))
    html = mark_safe(linebreaks("".join(pieces), autoescape=False))  # noqa: S308 (escaped above)
    return RenderedReply(text=text, html=html, unknown=list(dict.fromkeys(unknown)))


def unknown_pages_message(unknown: list[str]) -> str:
    names = ", ".join(f"[[{slug}]]" for slug in unknown)
    return (
        f"No page of this site is called {names}. Use the address of a page without slashes, "
        "for example [[side-effects]]."
    )


def send_reply(inquiry: Inquiry, body: str, user) -> Reply:
    """Store the reply, queue its email and mark the inquiry answered, all or nothing."""
    with transaction.atomic():
        reply = Reply.objects.create(inquiry=inquiry, body=body, sent_by=user)
        EmailDelivery.objects.create(
            inquiry=inquiry,
            kind=EmailDelivery.Kind.REPLY,
            reply=reply,
            next_attempt_at=timezone.now(),
        )
        inquiry.status = Inquiry.Status.ANSWERED
        inquiry.save()
    return reply
