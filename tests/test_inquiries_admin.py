"""Staff in the admin: the queue, filters, search, actions, permissions, export and purge."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inquiries import outbox
from inquiries.admin import spreadsheet_safe
from inquiries.models import EmailDelivery, Inquiry, RateLimitHit
from tests.inquiries_helpers import make_inquiry, run_worker

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:inquiries_inquiry_changelist")


def change_url(inquiry):
    return reverse("admin:inquiries_inquiry_change", args=[inquiry.pk])


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


@pytest.fixture
def reviewer(db):
    user = User.objects.create_user("rev", "rev@example.org", "a long password 123", is_staff=True)
    user.groups.add(Group.objects.get(name="Inquiry reviewers"))
    return user


@pytest.fixture
def reviewer_client(reviewer):
    client = Client()
    client.force_login(reviewer)
    return client


@pytest.fixture
def queue(db):
    """Five inquiries in every state, received at different times."""
    return {
        "old_new": make_inquiry(name="Olive Old", received_at=ago(days=9)),
        "recent_new": make_inquiry(
            name="Rita Recent", received_at=ago(hours=2), topic=Inquiry.Topic.COSTS
        ),
        "working": make_inquiry(
            name="Wes Working", received_at=ago(days=3), status=Inquiry.Status.IN_PROGRESS
        ),
        "answered": make_inquiry(
            name="Ann Answered",
            received_at=ago(days=20),
            status=Inquiry.Status.ANSWERED,
            asking_as=Inquiry.AskingAs.PROFESSIONAL,
        ),
        "closed": make_inquiry(
            name="Cleo Closed",
            received_at=ago(days=40),
            status=Inquiry.Status.CLOSED,
            question="Where is the nearest TIL centre?",
        ),
    }


def names_listed(response):
    return [inquiry.name for inquiry in response.context["cl"].result_list]


def act(client, action, *inquiries, follow=False):
    return client.post(
        CHANGELIST + "?status=all",
        {"action": action, "_selected_action": [i.pk for i in inquiries]},
        follow=follow,
    )


# --- The list ---------------------------------------------------------------------------


def test_default_view_shows_open_inquiries_oldest_first(admin_client, queue):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert names_listed(response) == ["Olive Old", "Wes Working", "Rita Recent"]
    assert "Open (new and in progress)" in response.text


def test_all_is_one_click_away(admin_client, queue):
    response = admin_client.get(CHANGELIST)
    assert '<a href="?status=all">All</a>' in response.text
    listed = names_listed(admin_client.get(CHANGELIST + "?status=all"))
    assert listed == ["Cleo Closed", "Ann Answered", "Olive Old", "Wes Working", "Rita Recent"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=answered", ["Ann Answered"]),
        ("status=closed", ["Cleo Closed"]),
        ("status=new", ["Olive Old", "Rita Recent"]),
        ("status=all&topic=costs", ["Rita Recent"]),
        ("status=all&asking_as__exact=professional", ["Ann Answered"]),
    ],
)
def test_filters(admin_client, queue, query, expected):
    query = query.replace("topic=", "topic__exact=")
    assert names_listed(admin_client.get(f"{CHANGELIST}?{query}")) == expected


def test_filter_by_assignee_and_by_received_date(admin_client, admin_user, queue):
    Inquiry.objects.filter(pk=queue["working"].pk).update(assigned_to=admin_user)
    response = admin_client.get(f"{CHANGELIST}?assigned_to__id__exact={admin_user.pk}")
    assert names_listed(response) == ["Wes Working"]
    response = admin_client.get(CHANGELIST, {"status": "all", "received_at__gte": ago(days=7)})
    assert names_listed(response) == ["Wes Working", "Rita Recent"]
    assert "Past 7 days" in response.text


def test_date_hierarchy_drills_down_by_received_date(admin_client, queue):
    received = queue["closed"].received_at
    response = admin_client.get(
        f"{CHANGELIST}?status=all&received_at__year={received.year}"
        f"&received_at__month={received.month}&received_at__day={received.day}"
    )
    assert names_listed(response) == ["Cleo Closed"]
    assert 'class="xfull"' in response.text or "date-hierarchy" in response.text


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Cleo", ["Cleo Closed"]),
        ("nearest TIL centre", ["Cleo Closed"]),
        ("sam@example.org", ["Cleo Closed", "Ann Answered", "Olive Old", "Wes Working"]),
    ],
)
def test_search_looks_through_every_status(admin_client, queue, term, expected):
    response = admin_client.get(CHANGELIST, {"q": term})
    listed = names_listed(response)
    assert "Rita Recent" in listed or "Rita Recent" not in expected
    assert [name for name in listed if name != "Rita Recent"] == expected


def test_search_by_reference(admin_client, queue):
    reference = queue["closed"].reference
    assert names_listed(admin_client.get(CHANGELIST, {"q": reference})) == ["Cleo Closed"]


def test_list_columns_show_age_assignee_and_email_delivery(admin_client, queue, admin_user):
    inquiry = queue["old_new"]
    Inquiry.objects.filter(pk=inquiry.pk).update(assigned_to=admin_user)
    outbox.queue_emails(inquiry)
    run_worker()
    response = admin_client.get(CHANGELIST)
    row = response.text[response.text.index(inquiry.reference) :]
    row = row[: row.index("</tr>")]
    assert "1\xa0week, 2\xa0days" in row
    assert "admin" in row
    assert "staff: sent" in row and "person: sent" in row
    assert ">A patient<" in row and ">The treatment process<" in row and ">New<" in row


def test_list_shows_pending_and_failed_deliveries_in_words(admin_client, queue):
    inquiry = queue["old_new"]
    outbox.queue_emails(inquiry)
    EmailDelivery.objects.filter(inquiry=inquiry, kind="staff").update(status="failed", attempts=9)
    EmailDelivery.objects.filter(inquiry=inquiry, kind="acknowledgement").update(attempts=2)
    response = admin_client.get(CHANGELIST)
    assert "staff: failed after 9 attempts" in response.text
    assert "person: pending, retrying (2 failed attempts)" in response.text


def test_list_needs_a_fixed_number_of_queries(admin_client, queue, django_assert_max_num_queries):
    for inquiry in queue.values():
        outbox.queue_emails(inquiry)
    with django_assert_max_num_queries(12):
        admin_client.get(CHANGELIST + "?status=all")


# --- The change page ----------------------------------------------------------------------


def test_change_page_shows_the_submission_read_only(admin_client, queue):
    inquiry = queue["old_new"]
    outbox.queue_emails(inquiry)
    response = admin_client.get(change_url(inquiry))
    assert response.status_code == 200
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"status", "assigned_to", "assigned_group", "internal_notes"}
    assert "How long is the hospital stay?" in response.text
    assert "Staff notification" in response.text  # the delivery inline


def test_saving_the_change_form_updates_status_timestamps(admin_client, admin_user, queue):
    inquiry = queue["old_new"]
    response = admin_client.post(
        change_url(inquiry),
        {
            "status": "answered",
            "assigned_to": admin_user.pk,
            "internal_notes": "Called back on Tuesday.",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "replies-TOTAL_FORMS": "0",
            "replies-INITIAL_FORMS": "0",
            "name": "Changed name",
        },
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == "answered" and inquiry.internal_notes == "Called back on Tuesday."
    assert inquiry.first_response_at is not None and inquiry.closed_at is None
    assert inquiry.name == "Olive Old"  # what they submitted cannot be changed


def test_status_timestamps_follow_the_workflow(db):
    inquiry = make_inquiry()
    inquiry.status = Inquiry.Status.IN_PROGRESS
    inquiry.save()
    assert inquiry.first_response_at is None and inquiry.closed_at is None
    inquiry.status = Inquiry.Status.ANSWERED
    inquiry.save()
    answered = inquiry.first_response_at
    assert answered is not None
    inquiry.status = Inquiry.Status.CLOSED
    inquiry.save()
    assert inquiry.closed_at is not None
    inquiry.status = Inquiry.Status.IN_PROGRESS  # reopened
    inquiry.save()
    assert inquiry.closed_at is None
    inquiry.status = Inquiry.Status.ANSWERED
    inquiry.save()
    assert inquiry.first_response_at == answered  # the first answer is remembered
    inquiry = Inquiry.objects.get(pk=inquiry.pk)
    inquiry.internal_notes = "no status change"
    inquiry.save()
    assert inquiry.first_response_at == answered


def test_nobody_can_add_an_inquiry_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:inquiries_inquiry_add")).status_code == 403


def test_every_admin_page_of_the_app_renders(admin_client, queue):
    inquiry = queue["old_new"]
    outbox.queue_emails(inquiry)
    delivery = inquiry.deliveries.first()
    for url in [
        reverse("admin:app_list", args=["inquiries"]),
        CHANGELIST,
        change_url(inquiry),
        reverse("admin:inquiries_inquiry_history", args=[inquiry.pk]),
        reverse("admin:inquiries_emaildelivery_changelist"),
        reverse("admin:inquiries_emaildelivery_changelist") + "?status__exact=failed",
        reverse("admin:inquiries_emaildelivery_change", args=[delivery.pk]),
    ]:
        assert admin_client.get(url).status_code == 200, url


# --- Actions --------------------------------------------------------------------------------


def test_assign_to_me(reviewer_client, reviewer, queue):
    response = act(reviewer_client, "assign_to_me", queue["old_new"], queue["working"])
    assert response.status_code == 302
    assert set(Inquiry.objects.filter(assigned_to=reviewer).values_list("name", flat=True)) == {
        "Olive Old",
        "Wes Working",
    }
    history = reverse("admin:inquiries_inquiry_history", args=[queue["old_new"].pk])
    assert "Assigned to themselves." in reviewer_client.get(history).text


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("mark_in_progress", "in-progress"),
        ("mark_answered", "answered"),
        ("mark_closed", "closed"),
        ("mark_spam", "spam"),
    ],
)
def test_status_actions(reviewer_client, queue, action, status):
    response = act(reviewer_client, action, queue["old_new"], queue["recent_new"], follow=True)
    assert response.status_code == 200
    assert "2 marked" in response.text
    statuses = Inquiry.objects.filter(name__in=["Olive Old", "Rita Recent"]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {status}
    inquiry = Inquiry.objects.get(name="Olive Old")
    if status in {"closed", "spam"}:
        assert inquiry.closed_at is not None
    if status == "answered":
        assert inquiry.first_response_at is not None


def test_resend_undelivered_emails(reviewer_client, queue, mailoutbox):
    inquiry = queue["old_new"]
    outbox.queue_emails(inquiry)
    run_worker()
    EmailDelivery.objects.filter(inquiry=inquiry, kind="staff").update(status="failed", attempts=9)
    mailoutbox.clear()
    response = act(reviewer_client, "resend_undelivered_emails", inquiry, follow=True)
    assert "1 email(s) queued to be sent again." in response.text
    run_worker()
    assert [m.to for m in mailoutbox] == [["staff@example.org"]]
    staff = inquiry.deliveries.get(kind="staff")
    assert (staff.status, staff.generation, staff.attempts) == ("sent", 1, 1)

    response = act(reviewer_client, "resend_undelivered_emails", inquiry, follow=True)
    assert "Nothing to resend" in response.text


def test_send_the_staff_notification_again(reviewer_client, queue, mailoutbox):
    inquiry = queue["old_new"]
    outbox.queue_emails(inquiry)
    run_worker()
    mailoutbox.clear()
    act(reviewer_client, "resend_staff_notification", inquiry)
    run_worker()
    assert [m.to for m in mailoutbox] == [["staff@example.org"]]


# --- Permissions ----------------------------------------------------------------------------


def test_reviewers_group_has_exactly_the_permissions_needed():
    """Answer and work the queue; keep saved answers; see, not change, routing; no delete."""
    group = Group.objects.get(name="Inquiry reviewers")
    codenames = set(
        group.permissions.filter(content_type__app_label="inquiries").values_list(
            "codename", flat=True
        )
    )
    assert codenames == {
        "view_inquiry",
        "change_inquiry",
        "view_emaildelivery",
        "view_reply",
        "add_reply",
        "view_savedanswer",
        "add_savedanswer",
        "change_savedanswer",
        "view_routingrule",
    }


def test_reviewer_can_work_the_queue_but_not_delete_or_export(reviewer_client, queue):
    response = reviewer_client.get(CHANGELIST)
    assert response.status_code == 200
    actions = dict(response.context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert "export_csv" not in actions
    assert {"assign_to_me", "mark_closed", "resend_undelivered_emails"} <= set(actions)
    delete = reverse("admin:inquiries_inquiry_delete", args=[queue["old_new"].pk])
    assert reviewer_client.get(delete).status_code == 403
    response = act(reviewer_client, "export_csv", queue["old_new"])
    assert response.status_code == 302  # "no action selected": nothing is exported
    assert Inquiry.objects.count() == 5


def test_reviewer_sees_deliveries_but_cannot_change_them(reviewer_client, queue):
    outbox.queue_emails(queue["old_new"])
    delivery = EmailDelivery.objects.first()
    url = reverse("admin:inquiries_emaildelivery_change", args=[delivery.pk])
    response = reviewer_client.get(url)
    assert response.status_code == 200
    assert not response.context["adminform"].form.fields
    assert reviewer_client.post(url, {"status": "sent"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "pending"


def test_staff_without_the_group_see_nothing(queue):
    """Staff status alone does not let anyone list, view or export inquiries."""
    user = User.objects.create_user("temp", password="a long password 123", is_staff=True)
    client = Client()
    client.force_login(user)
    inquiry = queue["old_new"]
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(inquiry)).status_code == 403
    assert client.get(CHANGELIST + "?q=" + inquiry.email).status_code == 403
    export = client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [inquiry.pk]})
    assert export.status_code == 403
    assert inquiry.email.encode() not in export.content
    home = client.get(reverse("admin:index"))
    assert b"Inquiries" not in home.content


def test_superuser_can_delete_an_inquiry_with_its_emails(admin_client, queue):
    inquiry = queue["closed"]
    outbox.queue_emails(inquiry)
    url = reverse("admin:inquiries_inquiry_delete", args=[inquiry.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not EmailDelivery.objects.filter(inquiry_id=inquiry.pk).exists()


# --- Export -----------------------------------------------------------------------------------


def export_rows(response):
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:])))


def test_export_needs_the_separate_export_permission(reviewer, reviewer_client, queue):
    reviewer.user_permissions.add(Permission.objects.get(codename="export_inquiry"))
    client = Client()
    client.force_login(User.objects.get(pk=reviewer.pk))
    response = act(client, "export_csv", queue["old_new"], queue["closed"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="inquiries-')
    rows = export_rows(response)
    assert rows[0][:3] == ["reference", "received", "status"]
    assert [row[6] for row in rows[1:]] == ["Cleo Closed", "Olive Old"]
    assert "internal" not in ",".join(rows[0])


def test_export_neutralises_spreadsheet_formulas(admin_client, db):
    inquiry = make_inquiry(
        name='=HYPERLINK("http://evil.example","click")',
        phone="+44 20 7946 0000",
        cancer_type="@SUM(1+1)",
        question="-2+3 is it safe?",
    )
    rows = export_rows(act(admin_client, "export_csv", inquiry))
    header, row = rows
    values = dict(zip(header, row, strict=True))
    assert values["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert values["phone"] == "'+44 20 7946 0000"
    assert values["type of cancer"] == "'@SUM(1+1)"
    assert values["question"] == "'-2+3 is it safe?"
    assert values["email"] == "sam@example.org"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


# --- Retention ----------------------------------------------------------------------------


@pytest.fixture
def aged(db, settings):
    settings.INQUIRY_RETENTION_DAYS = 365
    inquiries = {
        "closed_long_ago": make_inquiry(name="A", status=Inquiry.Status.CLOSED),
        "spam_long_ago": make_inquiry(name="B", status=Inquiry.Status.SPAM),
        "closed_recently": make_inquiry(name="C", status=Inquiry.Status.CLOSED),
        "open_but_old": make_inquiry(name="D", received_at=ago(days=800)),
        "answered_long_ago": make_inquiry(name="E", status=Inquiry.Status.ANSWERED),
    }
    for inquiry in inquiries.values():
        outbox.queue_emails(inquiry)
    Inquiry.objects.filter(name__in=["A", "B"]).update(closed_at=ago(days=366))
    Inquiry.objects.filter(name="C").update(closed_at=ago(days=30))
    Inquiry.objects.filter(name="E").update(first_response_at=ago(days=700))
    RateLimitHit.objects.create(client_key="x" * 64, created_at=ago(days=2))
    return inquiries


def test_purge_dry_run_deletes_nothing(aged):
    out = io.StringIO()
    call_command("purge_inquiries", "--dry-run", stdout=out)
    assert "Would delete 2 inquiries" in out.getvalue()
    assert Inquiry.objects.count() == 5 and EmailDelivery.objects.count() == 10


def test_purge_removes_old_closed_and_spam_inquiries_with_their_emails(aged):
    out = io.StringIO()
    call_command("purge_inquiries", stdout=out)
    assert "Deleted 2 inquiries" in out.getvalue()
    assert set(Inquiry.objects.values_list("name", flat=True)) == {"C", "D", "E"}
    remaining = set(EmailDelivery.objects.values_list("inquiry_id", flat=True))
    assert remaining == set(Inquiry.objects.values_list("pk", flat=True))
    assert EmailDelivery.objects.count() == 6
    assert not RateLimitHit.objects.exists()


def test_purge_days_option_overrides_the_setting(aged):
    call_command("purge_inquiries", "--days", "1", stdout=io.StringIO())
    assert set(Inquiry.objects.values_list("name", flat=True)) == {"D", "E"}


def test_purge_with_nothing_to_do(db):
    out = io.StringIO()
    call_command("purge_inquiries", stdout=out)
    assert "Deleted 0 inquiries" in out.getvalue()
