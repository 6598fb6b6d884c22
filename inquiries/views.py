"""The question form and its confirmation page.

POST, then redirect, then GET: a valid question is stored with its two emails queued in one
transaction, and only then does the person see the confirmation page. Robots are turned away
by a honeypot, a signed form stamp and a per-client rate limit, each with a calm message.
"""

import logging
import threading
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from inquiries.forms import HONEYPOT_FIELD, InquiryForm
from inquiries.outbox import queue_emails
from inquiries.protection import (
    StampProblem,
    check_form_stamp,
    client_key,
    is_rate_limited,
    make_form_stamp,
    read_confirmation,
    record_hit,
    safe_came_from,
    sign_confirmation,
)

logger = logging.getLogger(__name__)

PROBLEMS = {
    "honeypot": (
        "We could not send your question because a field that should be left empty was "
        "filled in. Check your answers and select Send question again."
    ),
    "too-fast": (
        "That was quicker than we expected, so we could not be sure a person sent it. "
        "Check your answers and select Send question again."
    ),
    "invalid": (
        "We could not check that this form came from our website. "
        "Your answers are still here: check them and select Send question again."
    ),
    "expired": (
        "This page was open for a long time, so we need you to send it again. "
        "Your answers are still here: check them and select Send question again."
    ),
    "rate-limited": (
        "We have received several questions from your connection in a short time, so we "
        "cannot accept another one just now. Please try again in an hour. If you need help "
        "now, contact your treatment team."
    ),
    "not-saved": (
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


# The empty form is the same page for everyone but for three values: the CSRF token, the form
# stamp and the page the person came from. It is rendered once (per process and per set of
# values it depends on) with markers in their place, and each request fills them in.
_TOKEN_MARK, _STAMP_MARK, _FROM_MARK = "@@csrf-token@@", "@@form-stamp@@", "@@came-from@@"
_blank_forms: dict = {}
_blank_forms_lock = threading.Lock()


def _blank_form_key(request):
    from tilsite.pages import get_registry  # the menu comes from the page registry

    return (
        id(get_registry()),
        settings.SITE_NAME,
        settings.ORGANISATION_NAME,
        settings.INQUIRY_REPLY_TIME,
        settings.INQUIRY_OPENING_HOURS,
    )


def render_blank_form(request, came_from: str) -> HttpResponse:
    key = _blank_form_key(request)
    page = _blank_forms.get(key)
    if page is None:
        form = InquiryForm(initial={"came_from": _FROM_MARK, "form_stamp": _STAMP_MARK})
        context = {**form_context(form), "csrf_token": _TOKEN_MARK}
        page = render_to_string("inquiries/contact.html", context, request)
        if page.count(_TOKEN_MARK) != 1 or page.count(_STAMP_MARK) != 1:
            raise RuntimeError("the question form's markers were not rendered exactly once")
        with _blank_forms_lock:
            _blank_forms.clear()  # keep only the current variant
            _blank_forms[key] = page
    html = (
        page.replace(_TOKEN_MARK, get_token(request))  # get_token also sets the CSRF cookie
        .replace(_STAMP_MARK, make_form_stamp())
        .replace(_FROM_MARK, escape(came_from))
    )
    return HttpResponse(html)


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
        logger.info("Question form turned away: %s", problem)
        status = 429 if problem == "rate-limited" else 400
        return render_problem(request, problem, status)

    if not form.is_valid():
        return render_form(request, form)

    try:
        with transaction.atomic():
            inquiry = form.save(commit=False)
            inquiry.came_from = form.cleaned_data["came_from"]
            inquiry.consent_given_at = timezone.now()
            inquiry.save_with_new_reference()
            queue_emails(inquiry)
            record_hit(key)
    except Exception:
        # Whatever failed, the transaction left nothing behind: say so, keep what they typed.
        logger.exception("Could not store a question from the contact form")
        return render_problem(request, "not-saved", status=503)

    logger.info("Stored question %s", inquiry.reference)
    token = sign_confirmation(inquiry.reference, inquiry.came_from)
    return redirect(f"{reverse('inquiries:thanks')}?{urlencode({'ref': token})}")


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
        "reply_time": settings.INQUIRY_REPLY_TIME,
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
        "current_slug": "contact",
        "reply_time": settings.INQUIRY_REPLY_TIME,
        "opening_hours": settings.INQUIRY_OPENING_HOURS,
    }
    response = render(
        request, "inquiries/thanks.html", context, status=200 if confirmation else 404
    )
    response["X-Robots-Tag"] = "noindex"
    return response
