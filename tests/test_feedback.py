"""Page feedback: Yes or No at the foot of a page, an optional comment after No, defences
without a cookie or a CSRF token (origin, honeypot, a daily limit per client), the content
page still cached whole, and the staff side (read-only admin, the reviewers' permission)."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.core import signing
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import feedback.protection
from feedback.models import COMMENT_MAX_LENGTH, Feedback, FeedbackRateLimit
from feedback.protection import COMMENT_SALT, make_comment_token, read_comment_token
from inquiries.protection import client_key as inquiry_client_key

pytestmark = pytest.mark.django_db

SAME_ORIGIN = {"Origin": "http://testserver"}
VOTE = reverse("feedback:vote")
COMMENT = reverse("feedback:comment")


@pytest.fixture(autouse=True)
def pages(site):
    site.page("steps", title="The steps of treatment", summary="What happens when.")
    return site


def vote(client, helpful="yes", page="steps", headers=SAME_ORIGIN, address="127.0.0.1", **data):
    return client.post(
        VOTE, {"page": page, "helpful": helpful, **data}, headers=headers, REMOTE_ADDR=address
    )


def comment_token(response) -> str:
    """The signed token carried by the redirect after a No."""
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == COMMENT
    return parse_qs(location.query)["t"][0]


def send_comment(client, token, text, headers=SAME_ORIGIN, **extra):
    return client.post(COMMENT, {"t": token, "comment": text, **extra}, headers=headers)


# --- The form on the page -------------------------------------------------------------------


def test_every_content_page_asks_whether_it_helped_without_a_token_or_cookie(client):
    response = client.get("/steps/")
    html = response.text
    assert 'class="page-feedback__title">Was this page helpful?</h2>' in html
    assert f'<form method="post" action="{VOTE}">' in html
    assert '<input type="hidden" name="page" value="steps">' in html
    assert 'name="helpful" value="yes"' in html and 'name="helpful" value="no"' in html
    assert "csrfmiddlewaretoken" not in html
    assert not response.cookies
    assert response["Cache-Control"] == "public, max-age=300"


def test_answers_leave_the_content_page_cached_and_the_same_for_everyone(client):
    before = client.get("/steps/")
    vote(client, "no")
    after = client.get("/steps/", headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 304
    assert not after.cookies


# --- Yes, No and the comment -------------------------------------------------------------


def test_yes_is_stored_with_the_day_only_and_thanked_without_a_cookie(client):
    response = vote(client, "yes")
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:thanks") + "?page=steps"
    answer = Feedback.objects.get()
    assert (answer.page_slug, answer.helpful, answer.comment) == ("steps", True, "")
    assert answer.day == timezone.localdate()
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "<h1>Thank you for your feedback</h1>" in thanks.text
    assert '<a href="/steps/">Go back to The steps of treatment</a>' in thanks.text
    assert not thanks.cookies and not response.cookies
    assert "no-store" in thanks["Cache-Control"] and "private" in thanks["Cache-Control"]


def test_nothing_about_the_person_is_stored():
    fields = {field.name for field in Feedback._meta.get_fields()}
    assert fields == {"id", "page_slug", "helpful", "comment", "day"}
    assert Feedback._meta.get_field("day").get_internal_type() == "DateField"  # no time of day


def test_no_offers_the_comment_box_with_the_note_about_personal_details(client):
    response = vote(client, "no")
    answer = Feedback.objects.get()
    assert (answer.helpful, answer.comment) == (False, "")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert not page.cookies
    assert "no-store" in page["Cache-Control"]
    html = page.text
    assert "What was missing or unclear? (optional)</label>" in html
    assert "Do not include personal or medical details" in html
    assert f'data-maxlength="{COMMENT_MAX_LENGTH}"' in html
    assert f'<input type="hidden" name="t" value="{comment_token(response)}">' in html
    assert "csrfmiddlewaretoken" not in html


def test_the_comment_joins_the_no_it_follows(client):
    token = comment_token(vote(client, "no"))
    response = send_comment(client, token, "  Nothing on how long\r\nthe stay is.  ")
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:thanks") + "?page=steps"
    answer = Feedback.objects.get()
    assert (answer.helpful, answer.comment) == (False, "Nothing on how long\nthe stay is.")


def test_an_empty_comment_is_fine_and_stores_nothing_more(client):
    token = comment_token(vote(client, "no"))
    response = send_comment(client, token, "   ")
    assert response["Location"] == reverse("feedback:thanks") + "?page=steps"
    assert Feedback.objects.get().comment == ""


def test_sending_again_cannot_replace_the_first_comment(client):
    token = comment_token(vote(client, "no"))
    send_comment(client, token, "First thought.")
    response = send_comment(client, token, "Second thought.")
    assert response.status_code == 302
    assert Feedback.objects.get().comment == "First thought."


def test_a_comment_too_long_comes_back_as_typed_with_a_message(client):
    token = comment_token(vote(client, "no"))
    text = "a" * (COMMENT_MAX_LENGTH + 1)
    response = send_comment(client, token, text)
    assert response.status_code == 200
    html = response.text
    assert "<title>Error: What was missing or unclear?" in html
    assert "There is a problem" in html
    message = f"Your comment must be {COMMENT_MAX_LENGTH} characters or fewer (it has 501)"
    assert f'<a href="#id_comment">{message}</a>' in html
    assert f">{text}</textarea>" in html
    assert Feedback.objects.get().comment == ""
    # Line breaks count once, as the page's counter counts them.
    assert send_comment(client, token, "a\r\n" * 250).status_code == 302


def test_a_comment_cannot_be_added_to_a_yes(client):
    vote(client, "yes")
    answer = Feedback.objects.get()
    send_comment(client, make_comment_token(answer.pk, "steps"), "Sneaky.")
    assert Feedback.objects.get().comment == ""


@pytest.mark.parametrize(
    "token",
    [
        "",
        "forged",
        signing.dumps([1, "steps"], salt="another.salt"),
        signing.dumps({"id": 1}, salt=COMMENT_SALT),
        signing.dumps([True, "steps"], salt=COMMENT_SALT),
    ],
)
def test_a_forged_or_broken_token_gets_a_clear_page(client, token):
    for response in (client.get(COMMENT, {"t": token}), send_comment(client, token, "Text")):
        assert response.status_code == 400
        assert "<h1>We cannot add a comment here</h1>" in response.text
        assert "This link has expired or is not complete" in response.text


def test_a_token_expires_after_a_day(client, monkeypatch):
    token = comment_token(vote(client, "no"))
    assert read_comment_token(token) == (Feedback.objects.get().pk, "steps")
    later = datetime.datetime.now().timestamp() + feedback.protection.COMMENT_TOKEN_MAX_AGE + 5
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    assert read_comment_token(token) is None
    assert client.get(COMMENT, {"t": token}).status_code == 400


# --- Bad input: a clear page in the site's layout, never a 500 ------------------------------


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"page": "nowhere", "helpful": "yes"}, 400, "We could not tell which page"),
        ({"page": "../etc/passwd", "helpful": "yes"}, 400, "We could not tell which page"),
        ({"page": "steps", "helpful": "maybe"}, 400, "We could not tell which page"),
        ({"page": "steps"}, 400, "We could not tell which page"),
        ({"helpful": "yes"}, 400, "We could not tell which page"),
        ({"page": "steps", "helpful": "yes", "website": "spam.example"}, 400, "left empty"),
    ],
)
def test_bad_votes_store_nothing_and_say_why(client, data, status, text):
    response = client.post(VOTE, data, headers=SAME_ORIGIN)
    assert response.status_code == status
    assert "<h1>Your answer was not saved</h1>" in response.text
    assert text in response.text
    assert 'class="site-footer"' in response.text
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("path", [VOTE, COMMENT, reverse("feedback:thanks")])
def test_wrong_methods_get_a_page_not_an_empty_405(client, path):
    method = client.get if path == VOTE else client.put
    response = method(path)
    assert response.status_code == 405
    assert "Was this page helpful?" in response.text
    assert response["Allow"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "null"},
        {"Origin": "https://evil.example"},
        {"Origin": "https://testserver"},  # another scheme is another origin
        {"Referer": "https://evil.example/steps/"},
    ],
)
def test_answers_from_elsewhere_are_refused(client, headers):
    response = vote(client, headers=headers)
    assert response.status_code == 403
    assert "came from a page of this website" in response.text
    assert '<a href="/steps/">Go back to The steps of treatment</a>' in response.text
    assert not Feedback.objects.exists()
    token = make_comment_token(1, "steps")
    assert send_comment(client, token, "Hello", headers=headers).status_code == 403


def test_a_browser_that_sends_only_the_referer_is_believed(client):
    response = vote(client, headers={"Referer": "http://testserver/steps/"})
    assert response.status_code == 302
    assert Feedback.objects.count() == 1


def test_a_thank_you_page_for_an_unknown_page_links_home_only(client):
    response = client.get(reverse("feedback:thanks"), {"page": "<script>"})
    assert response.status_code == 200
    assert "Go back to" not in response.text
    assert "<script>" not in response.text.split("</head>")[1]


NASTY = ["", "\x00", "a\x00b", "<script>x</script>", "\u202e", "../../etc", "x" * 5000, "yes"]
hostile_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=200))


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    vote_data=st.dictionaries(st.sampled_from(["page", "helpful", "website"]), hostile_text),
    comment_data=st.dictionaries(st.sampled_from(["t", "comment", "website"]), hostile_text),
)
def test_hostile_values_never_cause_a_server_error(client, settings, vote_data, comment_data):
    settings.FEEDBACK_RATE_LIMIT = 100_000
    response = client.post(VOTE, vote_data, headers=SAME_ORIGIN)
    assert response.status_code in {302, 400}
    comment_data.setdefault("t", make_comment_token(1, "steps"))
    response = client.post(COMMENT, comment_data, headers=SAME_ORIGIN)
    assert response.status_code in {200, 302, 400}
    # (Checked in Python: PostgreSQL refuses a NUL even inside a query's parameter.)
    assert not any("\x00" in text for text in Feedback.objects.values_list("comment", flat=True))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"page=%FF%FE&helpful=%C3%28", "application/x-www-form-urlencoded"),
        (b'{"page": "steps", "helpful": "yes"}', "application/json"),
        (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
        (b"page=steps", "application/x-www-form-urlencoded; charset=not-a-charset"),
    ],
)
def test_broken_bodies_get_a_client_error(client, body, content_type):
    for path in (VOTE, COMMENT):
        response = client.generic("POST", path, body, content_type, headers=SAME_ORIGIN)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    assert not Feedback.objects.exists()


# --- The daily limit per client -----------------------------------------------------------


def test_each_client_gets_a_daily_number_of_answers(client, settings):
    settings.FEEDBACK_RATE_LIMIT = 3
    for _ in range(3):
        assert vote(client).status_code == 302
    response = vote(client)
    assert response.status_code == 429
    assert "Please try again tomorrow" in response.text
    assert Feedback.objects.count() == 3
    # Another client is not held back.
    other = vote(client, address="203.0.113.9")
    assert other.status_code == 302
    assert Feedback.objects.count() == 4


def test_comments_and_robots_count_towards_the_limit(client, settings):
    settings.FEEDBACK_RATE_LIMIT = 3
    token = comment_token(vote(client, "no"))  # 1
    assert send_comment(client, token, "Unclear.").status_code == 302  # 2
    assert vote(client, website="x").status_code == 400  # 3: a robot's try
    assert vote(client).status_code == 429
    # A comment on a No given from another connection, sent from this exhausted one.
    second = comment_token(vote(client, "no", address="203.0.113.9"))
    response = client.post(COMMENT, {"t": second, "comment": "Late."}, headers=SAME_ORIGIN)
    assert response.status_code == 429
    assert not Feedback.objects.filter(comment="Late.").exists()


def test_the_limit_starts_again_the_next_day_and_old_counts_are_forgotten(client, settings):
    settings.FEEDBACK_RATE_LIMIT = 1
    assert vote(client).status_code == 302
    assert vote(client).status_code == 429
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    FeedbackRateLimit.objects.update(day=yesterday)
    feedback.protection._purged_on = None  # as in a process that has not yet purged today
    assert vote(client).status_code == 302
    assert list(FeedbackRateLimit.objects.values_list("day", "count")) == [
        (timezone.localdate(), 1)
    ]


def test_the_client_is_stored_only_as_a_keyed_hash_of_its_own(client, rf):
    vote(client, address="198.51.100.23")
    (key,) = FeedbackRateLimit.objects.values_list("client_key", flat=True)
    assert len(key) == 64 and "198.51.100.23" not in key
    # Not the question form's key for the same client: the two tables cannot be joined.
    assert key != inquiry_client_key(rf.get("/", REMOTE_ADDR="198.51.100.23"))


# --- Staff ------------------------------------------------------------------------------------


@pytest.fixture
def reviewer_client(client):
    user = User.objects.create_user("rev", "rev@example.org", "a long password 123", is_staff=True)
    user.groups.add(Group.objects.get(name="Inquiry reviewers"))
    client.force_login(user)
    return client


def test_the_admin_lists_feedback_read_only(admin_client):
    answer = Feedback.objects.create(page_slug="steps", helpful=False, comment="Too <b>long</b>")
    Feedback.objects.create(page_slug="gone", helpful=True)
    listing = admin_client.get(reverse("admin:feedback_feedback_changelist"))
    assert listing.status_code == 200
    assert '<a href="/steps/">The steps of treatment</a>' in listing.text
    assert "/gone/ (no longer a page)" in listing.text
    assert "Too &lt;b&gt;long&lt;/b&gt;" in listing.text
    only_steps = admin_client.get(reverse("admin:feedback_feedback_changelist"), {"page": "steps"})
    assert "/gone/" not in only_steps.text.split('id="result_list"')[1]
    change = admin_client.get(reverse("admin:feedback_feedback_change", args=[answer.pk]))
    assert change.status_code == 200
    assert change.context["adminform"].form.fields == {}
    assert 'name="_save"' not in change.text
    assert admin_client.get(reverse("admin:feedback_feedback_add")).status_code == 403
    posted = admin_client.post(
        reverse("admin:feedback_feedback_change", args=[answer.pk]), {"comment": "Edited"}
    )
    assert posted.status_code == 403
    assert Feedback.objects.get(pk=answer.pk).comment == "Too <b>long</b>"


def test_reviewers_may_view_feedback_but_not_delete_it(reviewer_client):
    answer = Feedback.objects.create(page_slug="steps", helpful=False, comment="Unclear")
    assert reviewer_client.get(reverse("admin:feedback_feedback_changelist")).status_code == 200
    assert (
        reviewer_client.get(reverse("admin:feedback_feedback_change", args=[answer.pk])).status_code
        == 200
    )
    delete = reverse("admin:feedback_feedback_delete", args=[answer.pk])
    assert reviewer_client.get(delete).status_code == 403
    assert Feedback.objects.filter(pk=answer.pk).exists()


def test_someone_with_the_delete_permission_can_remove_a_comment_with_personal_details(
    admin_client,
):
    answer = Feedback.objects.create(page_slug="steps", helpful=False, comment="I am Jo, 07700...")
    delete = reverse("admin:feedback_feedback_delete", args=[answer.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Feedback.objects.exists()


def test_the_reviewers_group_gains_only_viewing_feedback():
    group = Group.objects.get(name="Inquiry reviewers")
    granted = set(
        group.permissions.filter(content_type__app_label="feedback").values_list(
            "codename", flat=True
        )
    )
    assert granted == {"view_feedback"}


def test_a_limit_below_one_stops_the_site(settings):
    settings.FEEDBACK_RATE_LIMIT = 0
    with pytest.raises(SystemCheckError, match="FEEDBACK_RATE_LIMIT must be 1 or more"):
        call_command("check")
