"""Answering from the admin, the person's status page, routing and reply times."""

import datetime
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inquiries import outbox
from inquiries.models import EmailDelivery, Inquiry, Reply, RoutingRule, SavedAnswer
from inquiries.protection import status_token
from inquiries.replies import render_reply
from inquiries.routing import promised_reply_time, staff_recipients, working_days_ago
from tests.inquiries_helpers import form_data, make_inquiry, run_worker, text_of

pytestmark = pytest.mark.django_db

QUESTION = "My husband starts TIL therapy next month. What side effects are common?"


def change_url(inquiry):
    return reverse("admin:inquiries_inquiry_change", args=[inquiry.pk])


def reply_url(inquiry):
    return reverse("admin:inquiries_inquiry_reply", args=[inquiry.pk])


def status_url(inquiry):
    return reverse("inquiries:status", args=[status_token(inquiry.reference)])


@pytest.fixture
def reviewer_client(db):
    user = User.objects.create_user("rev", "rev@example.org", "a long password 123", is_staff=True)
    user.groups.add(Group.objects.get(name="Inquiry reviewers"))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def inquiry(settings):
    settings.SITE_URL = "https://til.example.org"
    settings.INQUIRY_NOTIFY_EMAILS = ["nurse@example.org"]
    inquiry = make_inquiry(name="Maria Lopez", email="maria@example.org", question=QUESTION)
    outbox.queue_emails(inquiry)
    return inquiry


# --- Page links in replies ---------------------------------------------------------------


def test_page_links_become_titles_and_full_addresses(settings):
    settings.SITE_URL = "https://til.example.org"
    reply = render_reply("Read [[side-effects]] and [[hospital-stay]].\nAsk us <again>.")
    assert reply.unknown == []
    assert reply.text == (
        "Read Side effects of TIL therapy (https://til.example.org/side-effects/) and "
        "The hospital stay (https://til.example.org/hospital-stay/).\nAsk us <again>."
    )
    assert '<a href="https://til.example.org/side-effects/">Side effects of TIL therapy</a>' in (
        reply.html
    )
    assert "&lt;again&gt;" in reply.html and "<again>" not in reply.html


def test_unknown_or_malformed_page_links_are_reported():
    assert render_reply("See [[no-such-page]] and [[../admin]] and [[side-effects]].").unknown == [
        "no-such-page",
        "../admin",
    ]


# --- Answering from the admin -------------------------------------------------------------


def test_the_inquiry_page_has_a_reply_section_for_reviewers(reviewer_client, inquiry):
    SavedAnswer.objects.create(title="Side effects overview", body="See [[side-effects]].")
    html = reviewer_client.get(change_url(inquiry)).text
    assert 'id="reply-heading">Reply</h2>' in html
    assert '<label for="id_saved_answer">Saved answer:</label>' in html
    assert '<label for="id_body">Reply:</label>' in html
    assert 'value="Preview"' in html and 'value="Send reply"' in html
    assert "Side effects overview" in html


def test_preview_starts_from_a_saved_answer_and_sends_nothing(reviewer_client, inquiry):
    saved = SavedAnswer.objects.create(
        title="Side effects", body="Please read [[side-effects]] with your care team."
    )
    response = reviewer_client.post(
        reply_url(inquiry), {"saved_answer": saved.pk, "body": "", "preview": "Preview"}
    )
    assert response.status_code == 200
    html = response.text
    assert "Preview: what the person will read" in html
    assert '<a href="https://til.example.org/side-effects/">Side effects of TIL therapy</a>' in html
    assert "Please read [[side-effects]] with your care team.</textarea>" in html
    assert not Reply.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.NEW


def test_an_unknown_page_is_an_error_before_sending(reviewer_client, inquiry):
    response = reviewer_client.post(
        reply_url(inquiry), {"body": "See [[side-efects]].", "send": "Send reply"}
    )
    assert response.status_code == 200
    assert "No page of this site is called [[side-efects]]" in response.text
    assert "See [[side-efects]].</textarea>" in response.text  # what was typed is kept
    assert not Reply.objects.exists()
    assert not EmailDelivery.objects.filter(kind="reply").exists()


def test_an_empty_reply_is_an_error(reviewer_client, inquiry):
    response = reviewer_client.post(reply_url(inquiry), {"body": "  ", "send": "Send reply"})
    assert "Write a reply, or choose a saved answer." in response.text
    assert not Reply.objects.exists()


def test_a_sent_reply_is_kept_queued_and_marks_the_question_answered(
    reviewer_client, inquiry, mailoutbox
):
    response = reviewer_client.post(
        reply_url(inquiry),
        {"body": "Please read [[side-effects]] and [[hospital-stay]].", "send": "Send reply"},
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(inquiry)
    reply = Reply.objects.get()
    assert (reply.inquiry, reply.sent_by) == (inquiry, reviewer_client.user)
    assert reply.delivery.status == "pending" and reply.delivery.kind == "reply"
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED and inquiry.first_response_at is not None

    run_worker()
    email = next(m for m in mailoutbox if m.subject.startswith("Our reply"))
    assert email.subject == f"Our reply to your question: reference {inquiry.reference}"
    assert email.to == ["maria@example.org"]
    assert "Auto-Submitted" not in email.extra_headers
    body = email.body
    assert "Side effects of TIL therapy (https://til.example.org/side-effects/)" in body
    assert "The hospital stay (https://til.example.org/hospital-stay/)" in body
    assert QUESTION not in body and "husband" not in body
    assert "We do not give medical advice." in body
    assert "To ask another question, use our form: https://til.example.org/contact/" in body
    assert f"https://til.example.org{status_url(inquiry)}" in body
    html = email.alternatives[0].content
    assert '<a href="https://til.example.org/hospital-stay/">The hospital stay</a>' in html
    assert QUESTION not in html
    reply.delivery.refresh_from_db()
    assert reply.delivery.status == "sent"
    assert reply.delivery.message_id == (
        f"<inquiry.{inquiry.reference.lower()}.reply-{reply.pk}@til.example.org>"
    )


def test_several_replies_each_get_their_own_email(reviewer_client, inquiry, mailoutbox):
    for text in ("First answer.", "A second thought."):
        reviewer_client.post(reply_url(inquiry), {"body": text, "send": "Send reply"})
    run_worker()
    replies = [m for m in mailoutbox if m.subject.startswith("Our reply")]
    assert sorted(m.body.split("\n\n")[2] for m in replies) == [
        "A second thought.",
        "First answer.",
    ]
    assert len({m.extra_headers["Message-ID"] for m in replies}) == 2
    page = reviewer_client.get(change_url(inquiry)).text
    assert "First answer." in page and "A second thought." in page  # the replies sent


def test_a_reply_that_cannot_be_sent_is_retried_and_shown(reviewer_client, inquiry, settings):
    settings.INQUIRY_EMAIL_RETRY_DELAYS = [3600]
    inquiry.email = "not an address"
    inquiry.save()
    reviewer_client.post(reply_url(inquiry), {"body": "Hello.", "send": "Send reply"})
    run_worker()
    delivery = Reply.objects.get().delivery
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "no valid recipient" in delivery.last_error
    listing = reviewer_client.get(reverse("admin:inquiries_inquiry_changelist") + "?status=all")
    assert "reply: pending, retrying (1 failed attempt)" in listing.text


def test_staff_without_the_reply_permission_cannot_reply(inquiry):
    user = User.objects.create_user("viewer", "v@example.org", "a long password 123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_inquiry"))
    client = Client()
    client.force_login(user)
    assert 'id="reply-heading"' not in client.get(change_url(inquiry)).text
    response = client.post(reply_url(inquiry), {"body": "Hi.", "send": "Send reply"})
    assert response.status_code == 403
    assert not Reply.objects.exists()


def test_saved_answers_are_edited_in_the_admin_and_checked(reviewer_client):
    add = reverse("admin:inquiries_savedanswer_add")
    response = reviewer_client.post(add, {"title": "Costs", "body": "See [[costs]]."})
    assert "No page of this site is called [[costs]]" in response.text
    response = reviewer_client.post(
        add, {"title": "Costs", "body": "See [[costs-and-practical-matters]]."}
    )
    assert response.status_code == 302
    assert SavedAnswer.objects.get().title == "Costs"


# --- The person's status page -------------------------------------------------------------


def test_the_status_page_shows_where_it_stands_and_never_the_question(client, inquiry):
    Inquiry.objects.filter(pk=inquiry.pk).update(internal_notes="Private staff note")
    response = client.get(status_url(inquiry))
    assert response.status_code == 200
    text = text_of(response.text)
    assert inquiry.reference in text
    assert f"Received {timezone.localtime(inquiry.received_at):%-d %B %Y}" in text
    assert "Where it stands Received" in text
    assert "We have not replied yet." in text
    for private in (QUESTION, "Maria", "maria@example.org", "Private staff note"):
        assert private not in response.text
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex, nofollow">' in response.text


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Inquiry.Status.IN_PROGRESS, "Being looked at"),
        (Inquiry.Status.ANSWERED, "Answered"),
        (Inquiry.Status.CLOSED, "Closed"),
        (Inquiry.Status.SPAM, "Closed"),
    ],
)
def test_the_status_is_in_plain_words(client, inquiry, status, words):
    inquiry.status = status
    inquiry.save()
    assert f"Where it stands {words}" in text_of(client.get(status_url(inquiry)).text)


def test_the_status_page_shows_the_replies_once_sent(client, reviewer_client, inquiry):
    reviewer_client.post(
        reply_url(inquiry), {"body": "Read [[side-effects]] first.", "send": "Send reply"}
    )
    html = client.get(status_url(inquiry)).text
    assert "Where it stands Answered" in text_of(html)
    assert "Our reply" in html
    assert '<a href="https://til.example.org/side-effects/">Side effects of TIL therapy</a>' in html


def test_an_altered_made_up_or_expired_address_gets_the_same_page(client, inquiry):
    token = status_token(inquiry.reference)
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    made_up = "TIL-2222-3333:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
    expired = status_url(inquiry)
    Inquiry.objects.filter(pk=inquiry.pk).delete()  # purged after the retention period
    pages = []
    for path in (
        reverse("inquiries:status", args=[altered]),
        reverse("inquiries:status", args=[made_up]),
        expired,
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        pages.append(response.content.replace(path.encode(), b""))
    assert pages[0] == pages[1] == pages[2]
    assert "This page is not available" in pages[0].decode()


def test_the_confirmation_page_and_the_acknowledgement_link_to_the_status_page(
    client, mailoutbox, settings
):
    settings.SITE_URL = "https://til.example.org"
    response = client.post("/contact/", form_data(), follow=True)
    inquiry = Inquiry.objects.get()
    assert f'href="{status_url(inquiry)}"' in response.text
    assert response.redirect_chain and response["Referrer-Policy"] == "no-referrer"
    run_worker()
    acknowledgement = next(m for m in mailoutbox if m.to == ["maria@example.org"])
    assert f"https://til.example.org{status_url(inquiry)}" in acknowledgement.body


# --- Routing ----------------------------------------------------------------------------


@pytest.fixture
def nurse(db):
    return User.objects.create_user("nurse", "n@example.org", "a long password 123", is_staff=True)


def test_a_rule_assigns_new_questions_and_tells_more_people(client, nurse, settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["desk@example.org"]
    money = Group.objects.create(name="Money advisers")
    RoutingRule.objects.create(
        topic="costs", assign_to_group=money, notify_emails="pay@example.org"
    )
    RoutingRule.objects.create(
        position=5, asking_as="caregiver", assign_to=nurse, notify_emails="carers@example.org"
    )
    RoutingRule.objects.create(active=False, notify_emails="never@example.org")

    client.post("/contact/", form_data(topic="costs", asking_as="caregiver"))
    inquiry = Inquiry.objects.get()
    assert (inquiry.assigned_group, inquiry.assigned_to) == (money, None)  # the first rule
    assert staff_recipients(inquiry) == [
        "desk@example.org",
        "pay@example.org",
        "carers@example.org",
    ]


def test_a_rule_can_replace_the_usual_addresses(settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["desk@example.org"]
    RoutingRule.objects.create(
        topic="clinical-trials", notify_emails="trials@example.org", instead_of_default=True
    )
    trials = make_inquiry(topic="clinical-trials")
    other = make_inquiry(topic="costs")
    assert staff_recipients(trials) == ["trials@example.org"]
    assert staff_recipients(other) == ["desk@example.org"]


def test_without_a_matching_rule_nobody_is_assigned(client, nurse):
    RoutingRule.objects.create(topic="costs", assign_to=nurse)
    client.post("/contact/", form_data(topic="side-effects"))
    assert Inquiry.objects.get().assigned_to is None


def test_the_staff_email_goes_to_the_routed_addresses(client, mailoutbox, settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["desk@example.org"]
    RoutingRule.objects.create(topic="side-effects", notify_emails="nurses@example.org")
    client.post("/contact/", form_data(topic="side-effects"))
    run_worker()
    staff = next(m for m in mailoutbox if m.subject.startswith("["))
    assert staff.to == ["desk@example.org", "nurses@example.org"]


def test_rules_refuse_a_bad_address_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:inquiries_routingrule_add"),
        {"position": 0, "active": "on", "notify_emails": "nurse@example.org\nnot-an-address"},
    )
    assert "not-an-address is not one" in response.text
    assert not RoutingRule.objects.exists()


# --- Reply times in working days ------------------------------------------------------------


def test_working_days_skip_the_weekend():
    monday = timezone.make_aware(datetime.datetime(2030, 6, 3, 10, 0))  # a Monday
    assert working_days_ago(1, monday).date() == datetime.date(2030, 5, 31)  # Friday
    assert working_days_ago(3, monday).date() == datetime.date(2030, 5, 29)  # Wednesday


def test_the_promised_reply_time_follows_the_working_days(client, settings):
    settings.INQUIRY_REPLY_TIME = ""
    settings.INQUIRY_REPLY_WORKING_DAYS = None
    assert promised_reply_time() == ""
    settings.INQUIRY_REPLY_WORKING_DAYS = 3
    assert promised_reply_time() == "within 3 working days"
    assert "We aim to reply within 3 working days." in client.get("/contact/").text


def test_the_queue_shows_and_filters_questions_waiting_too_long(reviewer_client, settings):
    settings.INQUIRY_REPLY_WORKING_DAYS = 2
    late = make_inquiry(name="Lena Late", received_at=timezone.now() - timedelta(days=8))
    make_inquiry(name="Nina New", received_at=timezone.now() - timedelta(hours=1))
    answered = make_inquiry(name="Andy Answered", received_at=timezone.now() - timedelta(days=8))
    answered.status = Inquiry.Status.ANSWERED
    answered.save()
    changelist = reverse("admin:inquiries_inquiry_changelist")
    listing = reviewer_client.get(changelist)
    assert "Waiting longer than 2 working days" in listing.text
    row = listing.text[listing.text.index(late.reference) :]
    assert "(waiting longer than promised)" in row[: row.index("</tr>")]
    filtered = reviewer_client.get(changelist, {"waiting": "overdue", "status": "all"})
    assert [i.name for i in filtered.context["cl"].result_list] == ["Lena Late"]


def test_without_working_days_there_is_no_such_filter(reviewer_client, settings):
    settings.INQUIRY_REPLY_WORKING_DAYS = None
    make_inquiry(received_at=timezone.now() - timedelta(days=30))
    listing = reviewer_client.get(reverse("admin:inquiries_inquiry_changelist"))
    assert "working day" not in listing.text
    assert "waiting longer than promised" not in listing.text


# --- Languages ------------------------------------------------------------------------------


def test_a_question_from_the_spanish_form_is_recorded_as_spanish(client, mailoutbox, settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["desk@example.org"]
    client.post("/es/contact/", form_data(email="ana@example.org"))
    client.post("/contact/", form_data(email="sam@example.org"))
    languages = dict(Inquiry.objects.values_list("email", "language"))
    assert languages == {"ana@example.org": "es", "sam@example.org": "en-gb"}
    run_worker()
    staff = [m for m in mailoutbox if m.to == ["desk@example.org"]]
    assert len(staff) == 2 and all(m.body.startswith("A new question") for m in staff)
    spanish = next(m for m in mailoutbox if m.to == ["ana@example.org"])
    assert spanish.subject.startswith("Su pregunta")
    assert "/es/contact/status/" in spanish.body


def test_staff_see_and_filter_the_language(reviewer_client):
    make_inquiry(name="Ana Spanish", language="es")
    make_inquiry(name="Sam English")
    changelist = reverse("admin:inquiries_inquiry_changelist")
    listing = reviewer_client.get(changelist, {"language__exact": "es"})
    assert [i.name for i in listing.context["cl"].result_list] == ["Ana Spanish"]
    assert "Español" in listing.text


def test_a_routing_rule_can_match_the_language(settings):
    settings.INQUIRY_NOTIFY_EMAILS = ["desk@example.org"]
    RoutingRule.objects.create(language="es", notify_emails="espanol@example.org")
    assert staff_recipients(make_inquiry(language="es")) == [
        "desk@example.org",
        "espanol@example.org",
    ]
    assert staff_recipients(make_inquiry()) == ["desk@example.org"]


def test_a_reply_to_a_spanish_question_links_the_spanish_pages(
    reviewer_client, mailoutbox, settings
):
    settings.SITE_URL = "https://til.example.org"
    inquiry = make_inquiry(language="es", email="ana@example.org")
    reviewer_client.post(
        reply_url(inquiry), {"body": "Lea [[side-effects]].", "send": "Send reply"}
    )
    run_worker()
    reply = next(m for m in mailoutbox if m.to == ["ana@example.org"])
    assert "Efectos secundarios" in reply.body
    assert "https://til.example.org/es/efectos-secundarios/" in reply.body
    assert "/side-effects/" not in reply.body
