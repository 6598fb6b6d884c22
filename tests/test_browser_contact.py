"""The question form in a real browser: keyboard only, accessible in every state, and found
by staff in the admin afterwards."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from inquiries.models import Inquiry
from tests.inquiries_helpers import reviewers_group, stamp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFERENCE = re.compile(r"TIL-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")


@pytest.fixture(autouse=True)
def quick_forms(settings):
    # A person takes seconds; a scripted browser does not. The timing check is tested elsewhere.
    settings.INQUIRY_MIN_FILL_SECONDS = 0


def focused(page, attribute="id"):
    return page.evaluate(f"document.activeElement.getAttribute('{attribute}')")


def tab_to(page, element_id, limit=60):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_caregiver_asks_a_question_with_the_keyboard_only(page, live_server, axe, console_errors):
    page.goto(live_server.url + "/contact/?from=/side-effects/")
    assert page.title().startswith("Ask a question")
    axe(page)

    tab_to(page, "id_name")
    page.keyboard.type("Maria Lopez")
    page.keyboard.press("Tab")
    assert focused(page) == "id_email"
    page.keyboard.type("maria@example.org")
    page.keyboard.press("Tab")
    assert focused(page) == "id_phone"  # optional: left empty
    page.keyboard.press("Tab")
    assert focused(page) == "id_preferred_contact_1"
    page.keyboard.press("Space")  # Email
    page.keyboard.press("Tab")
    assert focused(page) == "id_asking_as_1"
    page.keyboard.press("ArrowDown")  # A family member or caregiver
    page.keyboard.press("Tab")
    assert focused(page) == "id_cancer_type"
    page.keyboard.type("Melanoma")
    page.keyboard.press("Tab")
    assert focused(page) == "id_topic_1"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # Side effects
    page.keyboard.press("Tab")
    assert focused(page) == "id_question"
    page.keyboard.type("My husband starts TIL next month. Which side effects are common?")
    # The consent box is forgotten: go straight to the button.
    tab_to(page, "submit-id-send")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.title().startswith("Error: Ask a question")
    assert page.evaluate("document.activeElement.className") == "govuk-error-summary"
    summary = page.locator(".govuk-error-summary")
    assert "There is a problem" in summary.inner_text()
    link = summary.get_by_role("link")
    assert link.count() == 1
    assert link.inner_text() == (
        "Select the box to agree that we may store and use your details to answer your question"
    )
    # What was typed is all still there.
    assert page.input_value("#id_name") == "Maria Lopez"
    assert page.input_value("#id_question").startswith("My husband starts TIL")
    assert page.is_checked("#id_asking_as_2") and page.is_checked("#id_topic_3")
    axe(page)

    page.keyboard.press("Tab")  # from the focused summary to its link
    assert page.evaluate("document.activeElement.textContent").startswith("Select the box")
    page.keyboard.press("Enter")
    assert focused(page) == "id_consent"
    page.keyboard.press("Space")
    tab_to(page, "submit-id-send")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/contact/thank-you/\?ref="))
    assert page.get_by_role("heading", level=1).inner_text() == "Question sent"
    reference = REFERENCE.search(page.locator(".inquiry-reference").inner_text()).group(0)
    inquiry = Inquiry.objects.get()
    assert inquiry.reference == reference
    assert (inquiry.asking_as, inquiry.topic) == ("caregiver", "side-effects")
    assert inquiry.came_from == "/side-effects/"
    assert "call your local emergency number" in page.locator("main").inner_text()
    axe(page)
    assert console_errors == []


def test_staff_sign_in_and_find_the_question(page, live_server, client):
    client.post(
        "/contact/",
        {
            "name": "Sam Patel",
            "email": "sam@example.org",
            "preferred_contact": "email",
            "asking_as": "patient",
            "topic": "costs",
            "question": "Does insurance cover TIL?",
            "consent": "on",
            "form_stamp": stamp(),
        },
    )
    reference = Inquiry.objects.get().reference
    user = User.objects.create_user("nurse", password="a long password 123", is_staff=True)
    user.groups.add(reviewers_group())

    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", "nurse")
    page.fill("#id_password", "a long password 123")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator("tr.model-inquiry th a").click()
    row = page.locator("#result_list tbody tr", has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Sam Patel")
    expect(row).to_contain_text("New")
    row.get_by_role("link", name=reference).click()
    expect(page.locator("#content")).to_contain_text("Does insurance cover TIL?")


def test_character_count_counts_down_as_the_person_types(page, live_server, console_errors):
    page.goto(live_server.url + "/contact/")
    hint = page.locator("#id_question-info")
    assert hint.inner_text() == "You have 5,000 characters remaining"
    page.fill("#id_question", "x" * 4990)
    assert hint.inner_text() == "You have 10 characters remaining"
    page.fill("#id_question", "x" * 5002)
    assert hint.inner_text() == "You have 2 characters too many"
    assert "inquiry-count--over" in hint.get_attribute("class")
    assert console_errors == []


def test_form_fits_a_narrow_phone(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server.url + "/contact/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_focus_on_a_text_field_is_clearly_visible(page, live_server):
    page.goto(live_server.url + "/contact/")
    page.focus("#id_name")
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
    )
    assert outline[0] == "solid" and outline[1] == "3px"
    assert outline[2] != "none"
