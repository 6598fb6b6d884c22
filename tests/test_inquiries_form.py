"""The question form at /contact/: fields, messages, error summary, spam defences, storage."""

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils import timezone

from inquiries import views
from inquiries.models import REFERENCE_PATTERN, EmailDelivery, Inquiry, RateLimitHit
from inquiries.protection import client_key, read_confirmation, safe_came_from
from tests.inquiries_helpers import element, elements, form_data, stamp, text_of

pytestmark = pytest.mark.django_db

CONTACT = "/contact/"
REPO = Path(__file__).resolve().parent.parent
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def post(client, **overrides):
    return client.post(CONTACT, form_data(**overrides))


def nothing_stored():
    return Inquiry.objects.count() == 0 and EmailDelivery.objects.count() == 0


# --- The page -----------------------------------------------------------------------------


def test_form_labels_every_field_above_it_and_marks_only_optional_ones(client):
    html = client.get(CONTACT).text
    labels = {
        "id_name": "Your name",
        "id_email": "Email address",
        "id_phone": "Phone number (optional)",
        "id_cancer_type": "Type of cancer (optional)",
        "id_question": "Your question",
    }
    for input_id, label in labels.items():
        element(html, "label", for_=input_id)
        assert re.search(rf'<label for="{input_id}"[^>]*>\s*{re.escape(label)}\s*</label>', html)
    start = html.index('<form id="question-form"')
    form_html = html[start : html.index("</form>", start)]
    assert form_html.count("(optional)") == 2
    assert "*" not in text_of(form_html)
    assert element(html, "input", id="id_email")["type"] == "email"
    assert element(html, "input", id="id_phone")["type"] == "tel"
    assert element(html, "input", id="id_name")["autocomplete"] == "name"
    # No browser validation or silent truncation: the server says what is wrong.
    assert "novalidate" in element(html, "form", id="question-form")
    assert not [e for e in elements(form_html) if "maxlength" in e or "required" in e]


@pytest.mark.parametrize(
    ("name", "legend", "choices"),
    [
        ("preferred_contact", "How would you like us to reply?", ["Email", "Phone"]),
        (
            "asking_as",
            "I am asking as",
            [
                "A patient",
                "A family member or caregiver",
                "A healthcare professional",
                "Other",
            ],
        ),
        (
            "topic",
            "What is your question about?",
            [
                "Is TIL right for me or my relative",
                "The treatment process",
                "Side effects",
                "Costs and insurance",
                "Clinical trials",
                "Something else",
            ],
        ),
    ],
)
def test_radio_groups_are_fieldsets_with_legends(client, name, legend, choices):
    html = client.get(CONTACT).text
    group = html[html.index(f'id="div_id_{name}"') :]
    group = group[: group.index("</fieldset>")]
    assert re.search(rf"<legend[^>]*>\s*{re.escape(legend)}\s*</legend>", group)
    radios = elements(group, "input", type="radio")
    assert len(radios) == len(choices)
    assert not [radio for radio in radios if "checked" in radio]
    for position, choice in enumerate(choices, start=1):
        pattern = rf'<label[^>]*for="id_{name}_{position}"[^>]*>\s*{re.escape(choice)}\s*</label>'
        assert re.search(pattern, group)


def test_consent_is_a_separate_unticked_box_linked_to_the_privacy_notice(client):
    html = client.get(CONTACT).text
    box = element(html, "input", id="id_consent")
    assert box["type"] == "checkbox"
    assert "checked" not in box
    assert box["aria-describedby"] == "id_consent_hint"
    hint = html[html.index('id="id_consent_hint"') :]
    assert '<a href="/privacy/">privacy notice</a>' in hint[: hint.index("</div>")]


def test_safety_box_sits_just_above_the_submit_button(client):
    html = client.get(CONTACT).text
    start = html.index('<form id="question-form"')
    form_html = html[start : html.index("</form>", start)]
    safety = form_html.index('class="inquiry-safety"')
    submit = form_html.index('<input type="submit"')
    assert safety < submit
    assert "<input" not in form_html[safety:submit]  # nothing in between but the box
    box = text_of(form_html[safety:submit])
    assert "not for emergencies" in box
    assert "symptoms after treatment" in box
    assert "Contact your treatment team now, or call your local emergency number." in box


def test_page_says_no_medical_advice_and_promises_no_reply_time_when_none_is_set(client, settings):
    settings.INQUIRY_REPLY_TIME = ""
    settings.INQUIRY_OPENING_HOURS = ""
    text = text_of(client.get(CONTACT).text)
    assert "We do not give medical advice." in text
    assert "We aim to reply" not in text
    assert "reads questions" not in text


def test_page_gives_reply_time_and_opening_hours_from_settings(client, settings):
    settings.INQUIRY_REPLY_TIME = "within 3 working days"
    settings.INQUIRY_OPENING_HOURS = "Monday to Friday, 9am to 5pm"
    text = text_of(client.get(CONTACT).text)
    assert "We aim to reply within 3 working days." in text
    assert "Our team reads questions Monday to Friday, 9am to 5pm." in text


def test_page_marks_contact_in_the_navigation_and_is_never_cached(client):
    response = client.get(CONTACT)
    assert '<a href="/contact/" aria-current="page">Ask a question</a>' in response.text
    assert "no-store" in response["Cache-Control"]
    assert response.text.count("<title>Ask a question ") == 1


def test_no_inline_styles_or_scripts_anywhere_in_the_form_or_its_templates(client):
    html = client.get(CONTACT).text
    assert not [e for e in elements(html) if "style" in e]
    scripts = elements(html, "script")
    assert scripts and all(script.get("src", "").startswith("/static/") for script in scripts)
    assert re.search(r"<script[^>]*>\s*</script>", html)  # an external script, empty body
    for path in (REPO / "templates" / "inquiries").glob("*.html"):
        source = path.read_text()
        assert "style=" not in source and "<style" not in source, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path
    assert "script-src 'self'" in client.get(CONTACT)["Content-Security-Policy"]


# --- Where the person came from -------------------------------------------------------------


def test_came_from_is_filled_from_the_query_string(client):
    html = client.get(CONTACT + "?from=/side-effects/").text
    assert element(html, "input", id="id_came_from")["value"] == "/side-effects/"


def test_came_from_is_filled_from_a_same_site_referer(client):
    html = client.get(CONTACT, headers={"referer": "http://testserver/costs/?utm=x"}).text
    assert element(html, "input", id="id_came_from")["value"] == "/costs/"


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example/side-effects/",
        "//evil.example/",
        "javascript:alert(1)",
        "/side-effects/?next=//evil.example",
        "/../../etc/passwd",
        "/Side Effects/",
        "/contact/",
        "/x" * 150,
    ],
)
def test_came_from_never_trusts_anything_but_a_path_on_this_site(client, value):
    html = client.get(CONTACT, {"from": value}, headers={"referer": value}).text
    assert element(html, "input", id="id_came_from").get("value", "") == ""
    assert safe_came_from(value) == ""


def test_referer_from_another_site_is_ignored(client):
    html = client.get(CONTACT, headers={"referer": "https://evil.example/costs/"}).text
    assert element(html, "input", id="id_came_from").get("value", "") == ""


def test_came_from_is_checked_again_when_posted(client):
    post(client, came_from="https://evil.example/phish/")
    assert Inquiry.objects.get().came_from == ""


# --- Validation -------------------------------------------------------------------------------

FIELD_ERRORS = [
    ({"name": ""}, "name", "id_name", "Enter your name"),
    ({"name": " \t "}, "name", "id_name", "Enter your name"),
    ({"name": "x" * 151}, "name", "id_name", "Your name must be 150 characters or fewer"),
    ({"email": ""}, "email", "id_email", "Enter your email address"),
    (
        {"email": "maria.example.org"},
        "email",
        "id_email",
        "Enter an email address in the correct format, like name@example.com",
    ),
    (
        {"email": "maria@example.org\r\nBcc: victim@example.com"},
        "email",
        "id_email",
        "Enter an email address in the correct format, like name@example.com",
    ),
    (
        {"phone": "call me maybe"},
        "phone",
        "id_phone",
        "Enter a phone number, like 020 7946 0000 or +44 20 7946 0000",
    ),
    (
        {"phone": "123"},
        "phone",
        "id_phone",
        "Enter a phone number, like 020 7946 0000 or +44 20 7946 0000",
    ),
    (
        {"preferred_contact": "phone", "phone": ""},
        "phone",
        "id_phone",
        "Enter a phone number so that we can call you, or choose email",
    ),
    (
        {"preferred_contact": None},
        "preferred_contact",
        "id_preferred_contact_1",
        "Select how you would like us to reply",
    ),
    (
        {"preferred_contact": "fax"},
        "preferred_contact",
        "id_preferred_contact_1",
        "Select how you would like us to reply",
    ),
    ({"asking_as": None}, "asking_as", "id_asking_as_1", "Select who you are asking as"),
    ({"asking_as": "doctor"}, "asking_as", "id_asking_as_1", "Select who you are asking as"),
    (
        {"cancer_type": "x" * 201},
        "cancer_type",
        "id_cancer_type",
        "The type of cancer must be 200 characters or fewer",
    ),
    ({"topic": None}, "topic", "id_topic_1", "Select what your question is about"),
    ({"topic": "weather"}, "topic", "id_topic_1", "Select what your question is about"),
    ({"question": ""}, "question", "id_question", "Enter your question"),
    ({"question": " \r\n "}, "question", "id_question", "Enter your question"),
    (
        {"question": "x" * 5001},
        "question",
        "id_question",
        "Your question must be 5,000 characters or fewer (it has 5,001)",
    ),
    (
        {"consent": None},
        "consent",
        "id_consent",
        "Select the box to agree that we may store and use your details to answer your question",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "target", "message"), FIELD_ERRORS)
def test_each_field_error_is_summarised_linked_and_shown_beside_the_field(
    client, overrides, field, target, message
):
    response = post(client, **overrides)
    html = response.text
    assert response.status_code == 200
    assert nothing_stored()
    assert "<title>Error: Ask a question " in html
    summary = html[html.index('class="govuk-error-summary"') : html.index("<h1")]
    assert "There is a problem" in summary
    assert f'<li><a href="#{target}">{message}</a></li>' in summary
    assert summary.count("<li>") == 1
    element(html, id=target)  # the link's target exists
    error_id = f"id_{field}_1_error"
    beside = (
        rf'<span id="{error_id}" class="govuk-error-message">\s*'
        rf'<span class="govuk-visually-hidden">Error:</span>\s*{re.escape(message)}\s*</span>'
    )
    assert re.search(beside, html)
    if target.endswith("_1"):  # a radio group: the fieldset points to its message
        group = html[html.index(f'id="div_id_{field}"') :]
        described = element(group[: group.index(">", group.index("<fieldset")) + 1], "fieldset")
    else:
        described = element(html, id=target)
    assert error_id in described["aria-describedby"].split()


def test_the_error_summary_takes_focus_without_javascript(client):
    html = post(client, name="").text
    summary = element(html, "div", class_="govuk-error-summary")
    assert "autofocus" in summary and summary["tabindex"] == "-1"
    assert summary["role"] == "alert"
    assert summary["aria-labelledby"] == "error-summary-title"
    assert html.index("govuk-error-summary") < html.index("<h1")


def test_several_errors_are_listed_in_page_order(client):
    html = post(client, name="", topic=None, consent=None).text
    links = re.findall(r'<li><a href="#([a-z_0-9]+)">', html)
    assert links == ["id_name", "id_topic_1", "id_consent"]


def test_everything_typed_is_kept_after_an_error(client):
    html = post(
        client,
        name="",
        phone="020 7946 0000",
        preferred_contact="phone",
        cancer_type="Cervical cancer",
        question="Line one\r\nLine <two> & three",
    ).text
    assert element(html, "input", id="id_email")["value"] == "maria@example.org"
    assert element(html, "input", id="id_phone")["value"] == "020 7946 0000"
    assert element(html, "input", id="id_cancer_type")["value"] == "Cervical cancer"
    assert "checked" in element(html, "input", id="id_preferred_contact_2")
    assert "checked" in element(html, "input", id="id_asking_as_2")
    assert "checked" in element(html, "input", id="id_topic_3")
    assert "checked" in element(html, "input", id="id_consent")
    assert "Line one\nLine &lt;two&gt; &amp; three</textarea>" in html.replace("\r\n", "\n")
    assert element(html, "input", id="id_came_from")["value"] == "/side-effects/"


def test_a_question_of_exactly_5000_characters_is_accepted_counting_line_breaks_once(client):
    question = "a" * 2499 + "\r\n" + "a" * 2500  # 5,001 characters as sent, 5,000 as read
    response = post(client, question=question)
    assert response.status_code == 302
    assert len(Inquiry.objects.get().question) == 5000


def test_single_line_fields_lose_line_breaks_and_control_characters(client):
    post(client, name="Maria\r\nBcc: x@example.com", cancer_type="Mela\tnoma\x07")
    inquiry = Inquiry.objects.get()
    assert inquiry.name == "Maria Bcc: x@example.com"
    assert inquiry.cancer_type == "Mela noma"


ZWJ, ZWNJ, RLO, PDF, LRI, PDI = "\u200d", "\u200c", "\u202e", "\u202c", "\u2066", "\u2069"


@pytest.mark.parametrize(
    "name",
    [
        f"Ana 👩{ZWJ}❤️{ZWJ}👨",  # an emoji sequence held together by zero-width joiners
        f"Mehr{ZWNJ}dad",  # Persian needs the zero-width non-joiner between some letters
        f"क्{ZWJ}ष Sharma",  # Devanagari uses the joiner to choose a form
        "José 🏳️‍🌈",
    ],
)
def test_names_are_stored_exactly_as_typed(client, name):
    assert post(client, name=name).status_code == 302
    assert Inquiry.objects.get().name == name


def test_bidirectional_controls_that_could_disguise_text_are_removed(client):
    post(
        client,
        name=f"Maria {RLO}zepol{PDF}",
        cancer_type=f"{LRI}Melanoma{PDI}",
        question=f"Is it safe? {RLO}tnegru ton{PDF}",
    )
    inquiry = Inquiry.objects.get()
    assert inquiry.name == "Maria zepol"
    assert inquiry.cancer_type == "Melanoma"
    assert inquiry.question == "Is it safe? tnegru ton"


# --- A valid question ---------------------------------------------------------------------


def test_a_valid_question_is_stored_with_its_emails_queued_then_redirected(client):
    response = post(client, phone="+44 20 7946 0000", preferred_contact="phone")
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert re.match(REFERENCE_PATTERN, inquiry.reference)
    assert (inquiry.name, inquiry.email, inquiry.phone) == (
        "Maria Lopez",
        "maria@example.org",
        "+44 20 7946 0000",
    )
    assert inquiry.preferred_contact == Inquiry.ContactMethod.PHONE
    assert inquiry.asking_as == Inquiry.AskingAs.CAREGIVER
    assert inquiry.topic == Inquiry.Topic.SIDE_EFFECTS
    assert inquiry.question == (
        "My husband starts TIL therapy next month.\nWhat side effects are common?"
    )
    assert inquiry.came_from == "/side-effects/"
    assert inquiry.consent_given_at is not None
    assert inquiry.status == Inquiry.Status.NEW
    kinds = set(inquiry.deliveries.values_list("kind", "status"))
    assert kinds == {("staff", "pending"), ("acknowledgement", "pending")}
    assert all(d.next_attempt_at <= timezone.now() for d in inquiry.deliveries.all())  # due
    assert response["Location"].startswith("/contact/thank-you/?ref=")


def test_confirmation_page_shows_the_reference_next_steps_and_safety_message(client, settings):
    settings.INQUIRY_REPLY_TIME = "within 3 working days"
    response = client.get(post(client)["Location"])
    reference = Inquiry.objects.get().reference
    text = text_of(response.text)
    assert response.status_code == 200
    assert f"Question sent Your reference number {reference}" in text
    assert "What happens next" in text
    assert "We aim to reply within 3 working days." in text
    assert "Contact your treatment team now, or call your local emergency number." in text
    assert '<a href="/side-effects/">Go back to the page you were reading</a>' in response.text
    assert response["X-Robots-Tag"] == "noindex"
    assert "no-store" in response["Cache-Control"]


def test_confirmation_page_looks_nothing_up(client, django_assert_num_queries):
    location = post(client)["Location"]
    with django_assert_num_queries(0):
        response = client.get(location)
    assert Inquiry.objects.get().reference in response.text


@pytest.mark.parametrize("ref", ["", "TIL-7KQ2-M9XD", "1", "garbage:abc:def"])
def test_confirmation_page_shows_no_reference_for_an_unsigned_or_guessed_link(client, ref):
    post(client)
    reference = Inquiry.objects.get().reference
    response = client.get("/contact/thank-you/", {"ref": ref or reference})
    assert response.status_code == 404
    assert "Confirmation not available" in response.text
    assert reference not in response.text


def test_a_tampered_confirmation_link_is_refused(client):
    token = unquote(post(client)["Location"].split("ref=")[1])
    payload, rest = token.split(":", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + rest
    assert read_confirmation(forged) is None
    assert client.get("/contact/thank-you/", {"ref": forged}).status_code == 404


def test_csrf_protection_stays_on(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(CONTACT, form_data())
    assert response.status_code == 403
    assert nothing_stored()


def test_a_post_from_this_site_without_its_cookie_gets_the_form_back_as_typed(db):
    """The cookie expired or was blocked: the person's words are kept, with a fresh token,
    and sending again works."""
    client = Client(enforce_csrf_checks=True)
    typed = form_data(name="Zoë 👩‍👩‍👧", question="What happens after the infusion?")
    response = client.post(CONTACT, typed, headers={"origin": "http://testserver"})
    assert response.status_code == 403
    assert nothing_stored()
    html = response.text
    assert "Error: Ask a question" in html
    assert "did not send back a cookie the form needs" in html
    assert "What happens after the infusion?</textarea>" in html
    assert 'value="Zoë 👩‍👩‍👧"' in html
    fresh = {
        name: element(html, "input", name=name)["value"]
        for name in ("csrfmiddlewaretoken", "form_stamp")
    }
    assert "csrftoken" in response.cookies
    resent = client.post(CONTACT, {**typed, **fresh, "form_stamp": stamp()})
    assert resent.status_code == 302
    assert Inquiry.objects.get().name == "Zoë 👩‍👩‍👧"


@pytest.mark.parametrize(
    "headers", [{"origin": "https://elsewhere.example"}, {"origin": "null"}, {}]
)
def test_a_post_from_elsewhere_gets_a_plain_explanation_and_nothing_filled_in(db, headers):
    client = Client(enforce_csrf_checks=True)
    response = client.post(CONTACT, form_data(question="Secret words"), headers=headers)
    assert response.status_code == 403
    assert "Sorry, we could not accept this form" in response.text
    assert "Secret words" not in response.text
    assert '<a href="/contact/">open the question form</a>' in response.text
    assert nothing_stored()


def test_a_failed_csrf_check_elsewhere_shows_the_sites_page(db):
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x"})
    assert response.status_code == 403
    assert "Sorry, we could not accept this form" in response.text


# --- Storage is all or nothing ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_insert_leaves_neither_row_nor_task(client, monkeypatch, caplog):
    real_queue = views.queue_emails

    def queue_then_fail(inquiry):
        real_queue(inquiry)
        assert Inquiry.objects.filter(pk=inquiry.pk).exists()
        assert EmailDelivery.objects.count() == 2
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views, "queue_emails", queue_then_fail)
    response = post(client, question="Please keep what I typed")
    assert response.status_code == 503
    assert nothing_stored()
    assert "could not save your question" in response.text
    assert "Nothing was sent" in response.text
    assert "Please keep what I typed</textarea>" in response.text
    assert "Error: Ask a question" in response.text
    assert "Could not store a question" in caplog.text

    # The person can simply send it again.
    monkeypatch.setattr(views, "queue_emails", real_queue)
    assert post(client).status_code == 302
    assert Inquiry.objects.count() == 1 and EmailDelivery.objects.count() == 2


# --- Spam defences -----------------------------------------------------------------------------


def test_honeypot_turns_the_form_away_calmly_and_stores_nothing(client):
    response = post(client, website="http://cheap-pills.example")
    assert response.status_code == 400
    assert nothing_stored()
    assert "a field that should be left empty was filled in" in response.text
    assert element(response.text, "input", id="id_website").get("value", "") == ""
    assert element(response.text, "input", id="id_email")["value"] == "maria@example.org"
    assert RateLimitHit.objects.count() == 1


def test_honeypot_is_hidden_from_people_and_out_of_the_tab_order(client):
    html = client.get(CONTACT).text
    wrapper = element(html, "div", class_="inquiry-honeypot")
    assert wrapper["aria-hidden"] == "true"
    field = element(html, "input", id="id_website")
    assert field["tabindex"] == "-1" and field["autocomplete"] == "off"
    css = (REPO / "static" / "css" / "site.css").read_text()
    assert ".inquiry-honeypot { display: none; }" in css


@pytest.mark.parametrize(
    ("form_stamp", "message"),
    [
        (lambda: stamp(seconds_ago=0.5), "quicker than we expected"),
        (lambda: stamp(seconds_ago=2 * 24 * 60 * 60), "open for a long time"),
        (lambda: stamp()[:-3] + "xyz", "could not check that this form came from our website"),
        (lambda: "", "could not check that this form came from our website"),
        (lambda: "12345", "could not check that this form came from our website"),
    ],
    ids=["too-fast", "expired", "forged", "missing", "made-up"],
)
def test_form_stamp_problems_are_explained_and_nothing_is_stored(client, form_stamp, message):
    response = post(client, form_stamp=form_stamp())
    assert response.status_code == 400
    assert message in response.text
    assert "There is a problem" in response.text
    assert nothing_stored()
    assert element(response.text, "input", id="id_name")["value"] == "Maria Lopez"


def test_after_a_stamp_problem_a_fresh_stamp_lets_the_person_send_again(client, settings):
    old = stamp(seconds_ago=2 * 24 * 60 * 60)
    html = post(client, form_stamp=old).text
    fresh = element(html, "input", id="id_form_stamp")["value"]
    assert fresh != old
    settings.INQUIRY_MIN_FILL_SECONDS = 0
    assert post(client, form_stamp=fresh).status_code == 302


def test_minimum_fill_time_comes_from_settings(client, settings):
    settings.INQUIRY_MIN_FILL_SECONDS = 120
    assert post(client, form_stamp=stamp(seconds_ago=60)).status_code == 400
    settings.INQUIRY_MIN_FILL_SECONDS = 30
    assert post(client, form_stamp=stamp(seconds_ago=60)).status_code == 302


def test_rate_limit_per_client_is_kept_in_the_database(client, settings):
    settings.INQUIRY_RATE_LIMIT = 2
    assert post(client).status_code == 302
    assert post(client).status_code == 302
    response = post(client)
    assert response.status_code == 429
    assert "several questions from your connection" in response.text
    assert element(response.text, "input", id="id_name")["value"] == "Maria Lopez"
    assert Inquiry.objects.count() == 2

    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post(CONTACT, form_data()).status_code == 302

    # An hour later the first client may ask again.
    RateLimitHit.objects.update(created_at=LONG_AGO)
    assert post(client).status_code == 302


def test_rate_limit_rows_hold_a_keyed_hash_never_the_address(client):
    client.post(CONTACT, form_data(), REMOTE_ADDR="203.0.113.45")
    hit = RateLimitHit.objects.get()
    assert re.fullmatch(r"[0-9a-f]{64}", hit.client_key)
    assert "203.0.113.45" not in str(list(RateLimitHit.objects.values()))
    assert "203.0.113.45" not in str(list(Inquiry.objects.values()))


def test_old_rate_limit_rows_are_forgotten_as_new_ones_arrive(client, settings):
    post(client)
    RateLimitHit.objects.update(created_at=LONG_AGO)
    post(client)
    assert RateLimitHit.objects.count() == 1


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected_same_as"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client cannot choose its address
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (0, "203.0.113.9", "192.0.2.1"),
        (1, "not-an-address", "192.0.2.1"),
        (1, "", "192.0.2.1"),
    ],
)
def test_client_is_the_address_the_trusted_proxy_saw(
    rf, settings, proxies, forwarded, expected_same_as
):
    settings.TRUSTED_PROXY_COUNT = 0
    expected_key = client_key(rf.post(CONTACT, REMOTE_ADDR=expected_same_as))
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.post(CONTACT, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_key(request) == expected_key


def test_ipv6_clients_are_grouped_by_their_64_network(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0

    def key(address):
        return client_key(rf.get("/", REMOTE_ADDR=address))

    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9")
    assert key("2001:db8:1:2::1") != key("2001:db8:1:3::1")
    assert key("::ffff:192.0.2.1") == key("192.0.2.1")


def test_each_empty_form_has_its_own_token_stamp_and_origin(client, settings):
    first = client.get("/contact/?from=/side-effects/")
    second = Client().get("/contact/?from=/what-is-til-therapy/")
    pattern = r'name="(csrfmiddlewaretoken|form_stamp|came_from)" value="([^"]*)"'
    one, two = dict(re.findall(pattern, first.text)), dict(re.findall(pattern, second.text))
    # The fields are rendered once and kept: nothing personal may be kept with them.
    for html in (first.text, second.text):
        assert html.count('name="csrfmiddlewaretoken"') == html.count('name="form_stamp"') == 1
    assert one["came_from"] == "/side-effects/" and two["came_from"] == "/what-is-til-therapy/"
    assert one["csrfmiddlewaretoken"] != two["csrfmiddlewaretoken"]
    assert one["form_stamp"] and two["form_stamp"]
    assert "csrftoken" in second.cookies
    settings.INQUIRY_REPLY_TIME = "within 2 working days"
    assert "within 2 working days" in client.get("/contact/").text
