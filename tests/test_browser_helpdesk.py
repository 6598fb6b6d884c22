"""A reviewer answers a question from the admin in a real browser; the email reaches a real
SMTP server; the person's status page shows the answer."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from inquiries.models import Inquiry, SavedAnswer
from inquiries.protection import status_token
from tests.inquiries_helpers import reviewers_group, run_worker, stamp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "My wife has her infusion next week. How long will she stay in hospital?"


@pytest.fixture
def mail_server(smtp):
    smtp.start()
    return smtp


@pytest.fixture
def asked(client, settings, live_server):
    settings.INQUIRY_MIN_FILL_SECONDS = 0
    settings.SITE_URL = live_server.url
    client.post(
        "/contact/",
        {
            "name": "Ravi Shah",
            "email": "ravi@example.org",
            "preferred_contact": "email",
            "asking_as": "caregiver",
            "topic": "treatment-process",
            "question": QUESTION,
            "consent": "on",
            "form_stamp": stamp(),
        },
    )
    return Inquiry.objects.get()


def sign_in(page, live_server):
    user = User.objects.create_user("nurse", password="a long password 123", is_staff=True)
    user.groups.add(reviewers_group())
    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", "nurse")
    page.fill("#id_password", "a long password 123")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_reviewer_answers_with_a_saved_answer_and_the_person_sees_it(
    page, live_server, axe, asked, mail_server
):
    SavedAnswer.objects.create(
        title="The hospital stay",
        body="Thank you for asking. Most of what happens is on [[hospital-stay]]. "
        "The warning signs to act on are on [[side-effects]].",
    )
    run_worker()  # the staff notification and the acknowledgement
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/inquiries/inquiry/{asked.pk}/change/")
    axe(page)

    page.get_by_label("Saved answer").select_option(label="The hospital stay")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#reply-preview")
    expect(preview).to_contain_text("what the person will read")
    expect(preview.get_by_role("link", name="The hospital stay")).to_have_attribute(
        "href", f"{live_server.url}/hospital-stay/"
    )
    expect(page.get_by_role("textbox", name="Reply:")).to_have_value(
        re.compile(r"\[\[hospital-stay\]\]")
    )
    axe(page)
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messagelist")).to_contain_text("Your reply is on its way")

    run_worker()
    replies = [m for _, m in mail_server.messages if m["Subject"].startswith("Our reply")]
    assert len(replies) == 1
    reply = replies[0]
    assert reply["To"] == "ravi@example.org"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in reply.walk()
        if not part.is_multipart()
    }
    text = parts["text/plain"]
    assert f"The hospital stay ({live_server.url}/hospital-stay/)" in text
    assert f"Side effects of TIL therapy ({live_server.url}/side-effects/)" in text
    assert QUESTION not in text and "infusion next week" not in text
    assert QUESTION not in parts["text/html"]

    status_path = f"/contact/status/{status_token(asked.reference)}/"
    page.goto(live_server.url + status_path)
    expect(page.locator("main")).to_contain_text("Answered")
    expect(page.locator(".status-reply")).to_contain_text("Thank you for asking.")
    expect(page.locator("main")).not_to_contain_text("Ravi")
    axe(page)

    page.goto(live_server.url + status_path[:-3] + "XY/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This page is not available")
    axe(page)
