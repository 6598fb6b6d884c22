"""The question form and its confirmation page.

POST, then redirect, then GET: a valid question is stored with its two emails queued in one
transaction, and only then does the person see the confirmation page. Robots are turned away
by a honeypot, a signed form stamp and a per-client rate limit, each with a calm message.
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from inquiries.forms import HONEYPOT_FIELD, InquiryForm
from inquiries.models import Inquiry
from inquiries.outbox import queue_emails
from inquiries.protection import (
    StampProblem,
    check_form_stamp,
    client_key,
    is_rate_limited,
    make_form_stamp,
    read_confirmation,
    read_status_token,
    record_hit,
    safe_came_from,
    same_origin,
    sign_confirmation,
    status_token,
    take_rate_limit_slot,
)
from inquiries.replies import render_reply
from inquiries.routing import promised_reply_time, route
from tilsite.pages import emergency_number_text

logger = logging.getLogger(__name__)

PROBLEMS = {
    "honeypot": _(
        "We could not send your question because a field that should be left empty was "
        "filled in. Check your answers and select Send question again."
    ),
    "too-fast": _(
        "That was quicker than we expected, so we could not be sure a person sent it. "
        "Check your answers and select Send question again."
    ),
    "invalid": _(
        "We could not check that this form came from our website. "
        "Your answers are still here: check them and select Send question again."
    ),
    "expired": _(
        "This page was open for a long time, so we need you to send it again. "
        "Your answers are still here: check them and select Send question again."
    ),
    "rate-limited": _(
        "We have received several questions from your connection in a short time, so we "
        "cannot accept another one just now. Please try again in an hour. If you need help "
        "now, contact your treatment team."
    ),
    "csrf": _(
        "This page was open for a long time, or your browser did not send back a cookie the "
        "form needs, so we could not accept it. Your answers are still here: select Send "
        "question again."
    ),
    "not-saved": _(
        "Sorry, we could not save your question because of a problem on our side. Nothing "
        "was sent. Please select Send question again in a few minutes."
    ),
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def contact(request):
    if request.method == "POST":
        return handle_submission(request)
    came_from = safe_came_from(request.GET.get("from")) or safe_came_from(
        request.META.get("HTTP_REFERER"), request
    )
    return render_blank_form(request, came_from)


def render_blank_form(request, came_from: str) -> HttpResponse:
    form = InquiryForm(initial={"came_from": came_from, "form_stamp": make_form_stamp()})
    return render_form(request, form)


def handle_submission(request):
    form = InquiryForm(request.POST)
    key = client_key(request)

    problem = "honeypot" if form.honeypot_filled else None
    if problem is None:
        try:
            check_form_stamp(request.POST.get("form_stamp", ""))
        except StampProblem as stamp_problem:
            problem = stamp_problem.reason
    if problem in {"honeypot", "too-fast", "invalid"}:
        # Robots' attempts count towards the limit, so that they soon stop being answered.
        record_hit(key)
    if problem is None and is_rate_limited(key):
        problem = "rate-limited"
    if problem is not None:
        return turn_away(request, problem)

    if not form.is_valid():
        return render_form(request, form)

    try:
        with transaction.atomic():
            if not take_rate_limit_slot(key):
                raise RateLimited  # rolls the slot back too: nothing of this post is kept
            inquiry = form.save(commit=False)
            inquiry.came_from = form.cleaned_data["came_from"]
            inquiry.consent_given_at = timezone.now()
            inquiry.language = translation.get_language() or settings.LANGUAGE_CODE
            route(inquiry)
            inquiry.save_with_new_reference()
            queue_emails(inquiry)
    except RateLimited:
        return turn_away(request, "rate-limited")
    except Exception:
        # Whatever failed, the transaction left nothing behind: say so, keep what they typed.
        logger.exception("Could not store a question from the contact form")
        return render_problem(request, "not-saved", status=503)

    logger.info("Stored question %s", inquiry.reference)
    token = sign_confirmation(inquiry.reference, inquiry.came_from)
    return redirect(f"{reverse('inquiries:thanks')}?{urlencode({'ref': token})}")


def csrf_failure(request, reason=""):
    """The CSRF check failed (CSRF_FAILURE_VIEW): an expired or blocked cookie, a form left open
    for hours, or a post from another site.

    A question posted from this site's own form gets the form back as typed, with a fresh token
    and stamp, and one line asking to send it again; anything else gets a plain explanation
    in the site's layout, with nothing filled in.
    """
    if (
        request.method == "POST"
        and request.path == reverse("inquiries:contact")
        and same_origin(request)
    ):
        logger.info("Question form turned away: csrf (%s)", reason)
        return render_problem(request, "csrf", status=403)
    return render(request, "errors/403_csrf.html", status=403)


class RateLimited(Exception):
    """This client's questions for the window are used up (decided in the transaction)."""


def turn_away(request, problem: str):
    logger.info("Question form turned away: %s", problem)
    return render_problem(request, problem, 429 if problem == "rate-limited" else 400)


def render_problem(request, problem: str, status: int):
    """The form again, as typed, with a fresh stamp and the problem in the error summary."""
    data = request.POST.copy()
    data[HONEYPOT_FIELD] = ""
    if problem != "not-saved":
        data["form_stamp"] = make_form_stamp()
    form = InquiryForm(data)
    form.is_valid()
    form.add_error(None, PROBLEMS[problem])
    return render_form(request, form, status=status)


def form_context(form: InquiryForm) -> dict:
    return {
        "form": form,
        "error_summary": form.error_summary() if form.is_bound else [],
        "current_slug": "contact",
        "reply_time": promised_reply_time(),
        "opening_hours": settings.INQUIRY_OPENING_HOURS,
    }


def render_form(request, form: InquiryForm, status: int = 200):
    return render(request, "inquiries/contact.html", form_context(form), status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
def thanks(request):
    confirmation = read_confirmation(request.GET.get("ref", ""))
    context = {
        "reference": confirmation["ref"] if confirmation else None,
        "came_from": confirmation["from"] if confirmation else "",
        "status_url": (
            reverse("inquiries:status", args=[status_token(confirmation["ref"])])
            if confirmation
            else ""
        ),
        "current_slug": "contact",
        "reply_time": promised_reply_time(),
        "opening_hours": settings.INQUIRY_OPENING_HOURS,
    }
    response = render(
        request, "inquiries/thanks.html", context, status=200 if confirmation else 404
    )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the page links to the status page
    return response


# Where a question stands, in the words the person sees (never the staff's own labels).
STATUS_WORDS: dict[str, Promise] = {
    Inquiry.Status.NEW: _("Received"),
    Inquiry.Status.IN_PROGRESS: _("Being looked at"),
    Inquiry.Status.ANSWERED: _("Answered"),
    Inquiry.Status.CLOSED: _("Closed"),
    Inquiry.Status.SPAM: _("Closed"),
}


@never_cache
@require_http_methods(["GET", "HEAD"])
def status(request, token):
    """The person's status page: reference, when it came, where it stands, the replies.

    Never the question, the person's details or staff notes. A made-up, altered or expired
    (purged) address gets the same "not available" page, with status 404.
    """
    reference = read_status_token(token)
    inquiry = Inquiry.objects.filter(reference=reference).first() if reference else None
    context: dict[str, object] = {"current_slug": "contact"}
    if inquiry is not None:
        replies = inquiry.replies.all()
        context |= {
            "inquiry_reference": inquiry.reference,
            "received_at": inquiry.received_at,
            "status_words": STATUS_WORDS[inquiry.status],
            "closed": inquiry.status in Inquiry.CLOSED_STATUSES,
            "replies": [(reply, render_reply(reply.body).html) for reply in replies],
            "reply_time": promised_reply_time(),
            "emergency": emergency_number_text(),
        }
    response = render(request, "inquiries/status.html", context, status=200 if inquiry else 404)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
