"""Page feedback and the content dashboard in a real Chromium, checked by axe-core: a reader
says No with a comment, and a steward finds it on the dashboard beside a page whose review is
overdue; the form works without JavaScript; the JSON-LD is allowed by the site's CSP."""

import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User

from feedback.models import Feedback
from tests.inquiries_helpers import reviewers_group

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = datetime.date.today()
COMMENT = "It does not say how long the hospital stay is."


@pytest.fixture
def overdue_page(site):
    """A page made for the test whose next review was due yesterday, and a page before it."""
    site.page("first", title="First steps", nav_order=1)
    site.page(
        "overdue",
        "## How long is the stay?\n\nSome weeks.",
        title="A page past its review",
        nav_order=2,
        last_reviewed=(TODAY - datetime.timedelta(days=400)).isoformat(),
        next_review=(TODAY - datetime.timedelta(days=1)).isoformat(),
    )
    return "/overdue/"


def steward() -> User:
    """A member of the reviewers' group, with the group's permissions made again: transactional
    tests empty every table, migration data included."""
    group = reviewers_group()
    importlib.import_module("feedback.migrations.0002_reviewers_can_view_feedback").grant(
        django_apps, None
    )
    user = User.objects.create_user("steward", password="a long password 123", is_staff=True)
    user.groups.add(group)
    return user


def test_a_no_with_a_comment_reaches_the_dashboard_beside_the_overdue_page(
    page, live_server, axe, overdue_page, console_errors
):
    page.goto(live_server.url + overdue_page)
    meta = page.locator(".page-meta")
    assert "This page has not yet been reviewed by a clinician." in meta.inner_text()
    feedback = page.get_by_role("region", name="Was this page helpful?")
    # Each button reads "Yes" or "No" on screen and says what it means to a screen reader.
    assert feedback.get_by_role("button").count() == 2
    for name in ("Yes this page was helpful", "No this page was not helpful"):
        assert feedback.get_by_role("button", name=name, exact=True).is_visible()
    axe(page)

    with page.expect_navigation():
        feedback.get_by_role("button", name="No this page was not helpful").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you for your answer"
    box = page.get_by_role("textbox", name="What was missing or unclear? (optional)")
    assert (
        "Do not include personal or medical details"
        in page.locator("#id_comment-hint").inner_text()
    )
    axe(page)
    box.fill(COMMENT)
    assert page.locator("#id_comment-info").inner_text() == (
        f"You have {500 - len(COMMENT)} characters remaining"
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you for your feedback"
    back = page.get_by_role("link", name="Go back to A page past its review")
    assert back.get_attribute("href") == overdue_page
    axe(page)
    assert page.context.cookies() == []  # nothing about the reader was kept in the browser
    assert console_errors == []
    answer = Feedback.objects.get()
    assert (answer.page_slug, answer.helpful, answer.comment) == ("overdue", False, COMMENT)

    steward()
    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", "a long password 123")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    axe(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Content dashboard").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Content dashboard"
    axe(page)
    due = page.get_by_role("region", name="Reviews due")
    row = due.get_by_role("row", name="A page past its review")
    assert "Overdue by 1 day" in row.inner_text()
    said = page.get_by_role("region", name="Page feedback")
    row = said.get_by_role("row", name="A page past its review")
    assert row.get_by_role("cell").all_inner_texts()[:2] == ["0", "1"]
    assert COMMENT in row.inner_text()

    with page.expect_navigation():
        row.get_by_role("link", name="All feedback on this page").click()
    assert COMMENT in page.locator("#result_list").inner_text()
    axe(page)
    with page.expect_navigation():
        page.locator("#result_list tbody th a").first.click()
    assert COMMENT in page.locator("#content-main").inner_text()
    assert page.get_by_role("button", name="Save").count() == 0  # read-only
    axe(page)


def test_the_form_works_without_javascript(browser, live_server, overdue_page):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + overdue_page)
    with page.expect_navigation():
        page.get_by_role("button", name="Yes this page was helpful").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you for your feedback"
    page.goto(live_server.url + overdue_page)
    with page.expect_navigation():
        page.get_by_role("button", name="No this page was not helpful").click()
    page.get_by_role("textbox").fill("Too long.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you for your feedback"
    assert sorted(Feedback.objects.values_list("helpful", "comment")) == [
        (False, "Too long."),
        (True, ""),
    ]
    assert context.cookies() == []
    context.close()


VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective);
});
"""


def test_json_ld_is_allowed_by_the_csp_and_parses(page, live_server, console_errors):
    page.add_init_script(VIOLATIONS)
    response = page.goto(live_server.url + "/side-effects/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    data = page.evaluate(
        "JSON.parse(document.querySelector('script[type=\"application/ld+json\"]').textContent)"
    )
    assert data["@type"] == "MedicalWebPage"
    assert data["name"] == page.get_by_role("heading", level=1).inner_text()
    assert page.evaluate("window.cspViolations") == []
    assert console_errors == []

    # The listeners do see a violation: an inline script the policy refuses.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.head.appendChild(s); }"
    )
    page.wait_for_function("window.cspViolations.length > 0")
    assert page.evaluate("window.cspViolations") == ["script-src-elem"]
    assert page.evaluate("window.ran") is None
    assert any("Content Security Policy" in error for error in console_errors)
