""" "My question list" on the Questions to ask page, in a real browser: tick questions, add
your own, print only those; nothing leaves the browser; without JavaScript the whole list
prints as before."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PATH = "/questions-to-ask/"
TICKED = ["Can my cancer wait while my cells grow?", "When can my family or friends visit?"]
NOT_TICKED = "Which tumour will you take out, and how?"
OWN = "Can my partner stay with me in hospital?"
# window.print() is replaced so that the test can see it called and look at the print
# layout itself (emulated print media); the dialog is the browser's, not the site's.
STUB_PRINT = "() => { window.printed = 0; window.print = () => { window.printed += 1; }; }"


def open_list(page, live_server):
    page.goto(live_server.url + PATH)
    page.evaluate(STUB_PRINT)


def add_own_question(page, text):
    page.get_by_label("Your question", exact=True).fill(text)
    page.get_by_role("button", name="Add", exact=True).click()


def test_the_printed_list_holds_only_the_ticked_and_typed_questions_and_nothing_leaves(
    page, live_server
):
    open_list(page, live_server)
    requested = []
    # The browser fetches the site's icon when it pleases (sometimes after the page loaded):
    # that is the browser's own request, carrying nothing the reader ticked or typed.
    page.on(
        "request",
        lambda request: "favicon" not in request.url and requested.append(request.url),
    )
    for question in TICKED:
        page.get_by_label(question).check()
    add_own_question(page, OWN)
    assert page.get_by_role("status").inner_text() == f"Added to your list: {OWN}"
    assert page.get_by_label(OWN).is_checked()
    assert page.get_by_text("3 questions in your list.").is_visible()

    page.get_by_role("button", name="Print my list").click()
    assert page.evaluate("window.printed") == 1
    page.emulate_media(media="print")
    printed = page.locator(".my-question-list li")
    assert printed.all_inner_texts() == [*TICKED, OWN]
    assert all(item.is_visible() for item in printed.all())
    visible_text = page.locator("body").inner_text()
    assert NOT_TICKED not in visible_text
    assert not page.locator("main").is_visible()
    assert not page.get_by_role("button", name="Print my list").is_visible()
    # Large type, and lines to write each answer on.
    size = page.locator(".my-question-list__question").first.evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert size >= 24  # pixels: 18pt
    lines = page.locator(".my-question-list li").first.locator(".my-question-list__line")
    assert lines.count() == 4
    assert all(line.bounding_box()["height"] >= 30 for line in lines.all())

    # Nothing went to the server, into storage or into the address.
    assert requested == []
    assert page.url == live_server.url + PATH
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""

    # After printing, the browser's own Print prints the whole page again.
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.get_by_text(NOT_TICKED).is_visible()
    assert not page.locator(".my-question-list").is_visible()


def test_own_questions_can_be_added_with_enter_and_removed(page, live_server):
    open_list(page, live_server)
    field = page.get_by_label("Your question", exact=True)
    page.get_by_role("button", name="Add", exact=True).click()
    assert page.get_by_text("Error: type a question first.").is_visible()
    assert field.get_attribute("aria-invalid") == "true"
    assert field.evaluate("el => el === document.activeElement")

    field.fill("  What should I   pack?  ")
    field.press("Enter")
    assert page.get_by_label("What should I pack?").is_checked()
    assert not page.get_by_text("Error: type a question first.").is_visible()
    assert field.input_value() == ""
    remove = page.get_by_role("button", name="Remove")
    assert remove.get_attribute("aria-describedby")
    remove.click()
    assert page.get_by_label("What should I pack?").count() == 0
    assert page.get_by_role("status").inner_text() == "Removed."


def test_print_my_list_with_nothing_chosen_says_what_to_do(page, live_server):
    open_list(page, live_server)
    page.get_by_role("button", name="Print my list").click()
    assert page.evaluate("window.printed") == 0
    assert "Tick at least one question" in page.get_by_role("status").inner_text()


def test_questions_keep_their_words_but_not_their_links(page, live_server):
    """A click on a question ticks it; a link inside would take the reader off their list."""
    open_list(page, live_server)
    label = page.locator(".question-list__label").first
    assert label.locator("a").count() == 0
    label.click()
    assert page.locator(".question-list__box").first.is_checked()
    assert page.url == live_server.url + PATH


def test_the_enhanced_page_passes_axe(page, live_server, axe):
    open_list(page, live_server)
    page.get_by_label(TICKED[0]).check()
    add_own_question(page, OWN)
    page.get_by_role("button", name="Add", exact=True).click()  # the error, shown
    axe(page)
    assert page.get_by_role("heading", name="Your own questions").is_visible()
    assert page.locator(".question-list-help").is_visible()


def test_without_javascript_the_whole_list_prints(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + PATH)
    assert page.locator("input[type=checkbox]").count() == 0
    assert page.get_by_role("button", name="Print my list").count() == 0
    assert not page.locator(".question-list-help").is_visible()
    page.emulate_media(media="print")
    questions = page.locator(".checklist li")
    assert questions.count() >= 30
    assert all(question.is_visible() for question in questions.all())
    assert page.locator(".notes-space").is_visible()
    assert re.search(r"\?$", questions.first.inner_text())
    context.close()
