"""Page feedback: "Was this page helpful?" Yes or No, then an optional comment after No.

The form at the foot of every content page posts here without a CSRF token (the page is the
same for everyone and cached whole), so each post is checked instead for where it came from,
the honeypot and the client's daily limit (feedback/protection.py). POST, then redirect, then
GET: after Yes, a thank-you page; after No, a page with one optional text box, whose Send adds
the comment to the answer already stored. None of these pages sets a cookie or may be cached.
"""

import logging
from urllib.parse import urlencode

from django.db import DatabaseError, transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from feedback.forms import CommentForm
from feedback.models import COMMENT_MAX_LENGTH, Feedback
from feedback.protection import (
    client_key,
    make_comment_token,
    read_comment_token,
    same_origin,
    take_slot,
)
from tilsite.pages import Page, get_registry

logger = logging.getLogger(__name__)

ANSWERS = {"yes": True, "no": False}
NOT_SAVED = _("Your answer was not saved")
# (status, heading, what the person reads) for each reason an answer is not taken.
PROBLEMS = {
    "method": (
        405,
        _("Page feedback"),
        _(
            "This address only takes answers from the “Was this page helpful?” "
            "questions at the foot of each page."
        ),
    ),
    "origin": (
        403,
        NOT_SAVED,
        _(
            "We could not check that your answer came from a page of this website, so we have "
            "not saved it. Go back to the page and choose Yes or No again."
        ),
    ),
    "honeypot": (
        400,
        NOT_SAVED,
        _(
            "We could not save your answer because a field that should be left empty was "
            "filled in. Go back to the page and choose Yes or No again."
        ),
    ),
    "unknown": (
        400,
        NOT_SAVED,
        _("We could not tell which page or which answer this was, so we have not saved it."),
    ),
    "expired": (
        400,
        _("We cannot add a comment here"),
        _(
            "This link has expired or is not complete, so we cannot add a comment to your "
            "answer here. A comment can be sent for a day after choosing No."
        ),
    ),
    "rate-limited": (
        429,
        NOT_SAVED,
        _(
            "We have had a lot of answers from your connection today, so we cannot save "
            "another one just now. Please try again tomorrow."
        ),
    ),
    "not-saved": (
        503,
        NOT_SAVED,
        _(
            "Sorry, we could not save your answer because of a problem on our side. Please "
            "try again in a few minutes."
        ),
    ),
}


class RateLimited(Exception):
    """This client's answers for today are used up (decided in the storing transaction)."""


@csrf_exempt  # the content page is cached for everyone: no token; same_origin instead
@never_cache
def vote(request):
    """Store a Yes or No for a page, then thank (Yes) or offer the comment box (No)."""
    if request.method != "POST":
        return problem(request, "method")
    page = _known_page(request.POST.get("page", ""))
    if not same_origin(request):
        return problem(request, "origin", page)
    if request.POST.get("website", "").strip():
        return turn_away_robot(request, page)
    helpful = ANSWERS.get(request.POST.get("helpful", ""))
    if page is None or helpful is None:
        return problem(request, "unknown", page)
    try:
        with transaction.atomic():
            if not take_slot(client_key(request)):
                raise RateLimited  # rolls the count back too: nothing of this post is kept
            answer = Feedback.objects.create(page_slug=page.slug, helpful=helpful)
    except RateLimited:
        return problem(request, "rate-limited", page)
    except DatabaseError:
        logger.exception("Could not store page feedback")
        return problem(request, "not-saved", page)
    if helpful:
        return redirect_to_thanks(page)
    token = make_comment_token(answer.pk, page.slug)
    return redirect(f"{reverse('feedback:comment')}?{urlencode({'t': token})}")


@csrf_exempt  # no cookie is set, so no CSRF token: the signed token and same_origin instead
@never_cache
def comment(request):
    """The optional "What was missing or unclear?" box after a No, and its Send."""
    if request.method not in {"GET", "HEAD", "POST"}:
        return problem(request, "method", allow="GET, HEAD, POST")
    token = request.POST.get("t", "") if request.method == "POST" else request.GET.get("t", "")
    ticket = read_comment_token(token)
    if ticket is None:
        return problem(request, "expired")
    answer_id, slug = ticket
    page = _known_page(slug)
    if request.method != "POST":
        return render_comment_form(request, CommentForm(), token, page)

    if not same_origin(request):
        return problem(request, "origin", page)
    form = CommentForm(request.POST)
    if form.honeypot_filled:
        return turn_away_robot(request, page)
    if not form.is_valid():
        return render_comment_form(request, form, token, page)
    text = form.cleaned_data["comment"]
    if not text:
        return redirect_to_thanks(page)  # the box is optional: Send with nothing in it is fine
    try:
        with transaction.atomic():
            if not take_slot(client_key(request)):
                raise RateLimited
            # Only an answer that is a No without a comment takes one: sending twice (a
            # double click, the back button) cannot replace the first comment.
            Feedback.objects.filter(pk=answer_id, helpful=False, comment="").update(comment=text)
    except RateLimited:
        return problem(request, "rate-limited", page)
    except DatabaseError:
        logger.exception("Could not store a page feedback comment")
        return problem(request, "not-saved", page)
    return redirect_to_thanks(page)


@never_cache
def thanks(request):
    if request.method not in {"GET", "HEAD"}:
        return problem(request, "method", allow="GET, HEAD")
    page = _known_page(request.GET.get("page", ""))
    return render(request, "feedback/thanks.html", {"page": page})


def render_comment_form(request, form: CommentForm, token: str, page: Page | None):
    error_summary = [(error, "id_comment") for error in form.errors.get("comment", [])]
    context = {
        "form": form,
        "token": token,
        "page": page,
        "error_summary": error_summary,
        "comment_max_length": COMMENT_MAX_LENGTH,
    }
    return render(request, "feedback/comment.html", context)


def turn_away_robot(request, page: Page | None):
    """A filled honeypot: counted against the client's limit, so that robots soon stop being
    answered, and nothing stored."""
    with transaction.atomic():
        take_slot(client_key(request))
    return problem(request, "honeypot", page)


def problem(request, reason: str, page: Page | None = None, allow: str = "POST"):
    logger.info("Page feedback turned away: %s", reason)
    status, heading, message = PROBLEMS[reason]
    context = {"heading": heading, "message": message, "page": page}
    response = render(request, "feedback/problem.html", context, status=status)
    if status == 405:
        response["Allow"] = allow
    return response


def redirect_to_thanks(page: Page | None):
    query = f"?{urlencode({'page': page.slug})}" if page else ""
    return redirect(reverse("feedback:thanks") + query)


def _known_page(slug: str) -> Page | None:
    """A page of the registry, looked up by its slug (never used as a path)."""
    return get_registry().get(slug) if isinstance(slug, str) else None
