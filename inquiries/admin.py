"""The staff side of inquiries: a queue of open questions, oldest first, their emails, and
answering them from the inquiry's page.

What the person submitted is read-only; staff change only the status, the assignee and
their internal notes. Status changes stamp first_response_at and closed_at (Inquiry.save).
The Reply section (templates/admin/inquiries/inquiry/change_form.html) posts to reply_view:
Preview shows the email as it will be sent; Send reply stores it and queues its email.
"""

import copy
import csv
import logging

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from inquiries import outbox
from inquiries.models import EmailDelivery, Inquiry, Reply, RoutingRule, SavedAnswer
from inquiries.replies import render_reply, send_reply, unknown_pages_message
from inquiries.routing import waiting_too_long, working_days_ago

logger = logging.getLogger(__name__)

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class StatusFilter(admin.SimpleListFilter):
    """Status, showing open inquiries (new and in progress) unless asked otherwise.

    A search looks through every status, so that a reference quoted on the phone is found
    even when its inquiry was closed long ago.
    """

    title = "status"
    parameter_name = "status"
    OPEN = "open"
    ALL = "all"

    def __init__(self, request, params, model, model_admin):
        self.searching = bool(request.GET.get("q", "").strip())
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [
            (self.OPEN, "Open (new and in progress)"),
            *Inquiry.Status.choices,
            (self.ALL, "All"),
        ]

    def effective_value(self):
        value = self.value()
        if value is None:
            return self.ALL if self.searching else self.OPEN
        return value

    def choices(self, changelist):
        current = self.effective_value()
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.effective_value()
        if value == self.OPEN:
            return queryset.filter(status__in=Inquiry.OPEN_STATUSES)
        if value in Inquiry.Status.values:
            return queryset.filter(status=value)
        return queryset


class EmailDeliveryInline(admin.StackedInline):
    # Stacked, not tabular: nine columns overflowed the page (axe: a scrolling region that
    # keyboards cannot reach). Folded away: the list column already says how each went.
    model = EmailDelivery
    classes = ("collapse",)
    extra = 0
    can_delete = False
    fields = (
        "kind",
        "status",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "recipients",
        "last_error",
        "message_id",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WaitingFilter(admin.SimpleListFilter):
    """Open questions not yet answered after INQUIRY_REPLY_WORKING_DAYS working days."""

    title = "reply time"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        days = settings.INQUIRY_REPLY_WORKING_DAYS
        if not days:
            return []
        return [("overdue", f"Waiting longer than {days} working day{'s' if days != 1 else ''}")]

    def queryset(self, request, queryset):
        days = settings.INQUIRY_REPLY_WORKING_DAYS
        if self.value() != "overdue" or not days:
            return queryset
        return queryset.filter(
            status__in=Inquiry.OPEN_STATUSES,
            first_response_at__isnull=True,
            received_at__lt=working_days_ago(days),
        )


class ReplyInline(admin.StackedInline):
    """Replies already sent: what, by whom, when. Sending is the Reply section below."""

    model = Reply
    extra = 0
    fields = ("sent_at", "sent_by", "body", "email")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "replies sent"

    @admin.display(description="email")
    def email(self, reply):
        delivery = getattr(reply, "delivery", None)
        return delivery.describe() if delivery else "none"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReplyForm(forms.Form):
    saved_answer = forms.ModelChoiceField(
        SavedAnswer.objects.all(),
        required=False,
        label="Saved answer",
        empty_label="None",
        help_text="Choose one and select Preview to start your reply from it.",
    )
    body = forms.CharField(
        label="Reply",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80}),
        help_text="Write [[page-slug]], for example [[side-effects]], to point to a page: "
        "the email shows its title and full address. Do not quote the person's question.",
    )

    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        body = (cleaned.get("body") or "").strip()
        saved = cleaned.get("saved_answer")
        if not body and saved is not None:
            body = saved.body.strip()
        if not body:
            raise forms.ValidationError("Write a reply, or choose a saved answer.")
        unknown = render_reply(body).unknown
        if unknown:
            self.add_error("body", unknown_pages_message(unknown))
        cleaned["body"] = body
        return cleaned


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "received_at",
        "name",
        "asking_as",
        "topic",
        "status",
        "assigned_to",
        "assigned_group",
        "language",
        "age",
        "delivery_status",
    )
    list_display_links = ("reference", "name")
    list_filter = (
        StatusFilter,
        WaitingFilter,
        "topic",
        "asking_as",
        "language",
        ("assigned_to", admin.RelatedOnlyFieldListFilter),
        ("assigned_group", admin.RelatedOnlyFieldListFilter),
        "received_at",
    )
    search_fields = ("reference", "name", "email", "question")
    date_hierarchy = "received_at"
    ordering = ("received_at",)
    list_select_related = ("assigned_to", "assigned_group")
    list_per_page = 50
    inlines = (ReplyInline, EmailDeliveryInline)
    submitted_fields = (
        "reference",
        "received_at",
        "language",
        "topic",
        "question",
        "asking_as",
        "cancer_type",
        "came_from",
        "name",
        "email",
        "phone",
        "preferred_contact",
        "consent_given_at",
    )
    readonly_fields = (*submitted_fields, "first_response_at", "closed_at", "updated_at")
    fieldsets = (
        (
            "Handling",
            {
                "fields": [
                    "status",
                    ("assigned_to", "assigned_group"),
                    "internal_notes",
                    ("first_response_at", "closed_at", "updated_at"),
                ]
            },
        ),
        (
            "The question",
            {
                "fields": [
                    ("reference", "received_at", "language"),
                    "topic",
                    "question",
                    "asking_as",
                    "cancer_type",
                    "came_from",
                ]
            },
        ),
        (
            "How to reach them",
            {"fields": ["name", "email", "phone", "preferred_contact", "consent_given_at"]},
        ),
    )
    actions = (
        "assign_to_me",
        "mark_in_progress",
        "mark_answered",
        "mark_closed",
        "mark_spam",
        "resend_undelivered_emails",
        "resend_staff_notification",
        "export_csv",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("deliveries")

    def has_add_permission(self, request):
        return False  # inquiries come from the form only

    def has_export_permission(self, request):
        return request.user.has_perm("inquiries.export_inquiry")

    # --- Columns ---------------------------------------------------------------------------

    @admin.display(description="age", ordering="-received_at")
    def age(self, inquiry):
        age = timesince(inquiry.received_at, timezone.now(), depth=2)
        if waiting_too_long(inquiry):
            return format_html("{} <strong>(waiting longer than promised)</strong>", age)
        return age

    @admin.display(description="emails")
    def delivery_status(self, inquiry):
        """In words, not colours: "staff: sent 2 Mar 2026 09:05; person: pending"."""
        labels = {"staff": "staff", "acknowledgement": "person", "reply": "reply"}
        order = list(labels)
        deliveries = sorted(inquiry.deliveries.all(), key=lambda d: (order.index(d.kind), d.pk))
        if not deliveries:
            return "none"
        return "; ".join(f"{labels[d.kind]}: {d.describe()}" for d in deliveries)

    # --- Answering -------------------------------------------------------------------------

    def get_urls(self):
        reply = self.admin_site.admin_view(require_POST(self.reply_view))
        return [
            path("<int:object_id>/reply/", reply, name="inquiries_inquiry_reply"),
            *super().get_urls(),
        ]

    def can_reply(self, request) -> bool:
        return request.user.has_perm("inquiries.add_reply") and request.user.has_perm(
            "inquiries.change_inquiry"
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if self.can_reply(request):
            extra_context.setdefault("reply_form", ReplyForm())
            extra_context["reply_url"] = reverse("admin:inquiries_inquiry_reply", args=[object_id])
        return super().change_view(request, object_id, form_url, extra_context)

    def reply_view(self, request, object_id):
        """Preview: show the reply as the email will say it. Send reply: store and queue it."""
        if not self.can_reply(request):
            raise PermissionDenied
        inquiry = get_object_or_404(Inquiry, pk=object_id)
        form = ReplyForm(request.POST)
        if "send" in request.POST and form.is_valid():
            send_reply(inquiry, form.cleaned_data["body"], request.user)
            self.log_change(request, inquiry, "Sent a reply to the person.")
            self.message_user(
                request,
                "Your reply is on its way to the person, and the question is marked answered.",
                messages.SUCCESS,
            )
            return redirect(reverse("admin:inquiries_inquiry_change", args=[inquiry.pk]))
        preview = None
        if form.is_valid():
            # Show the text that will be sent in the box (a saved answer fills an empty box).
            form = ReplyForm(initial={"body": form.cleaned_data["body"]})
            preview = render_reply(form.initial["body"])
        # The inquiry's page again, with the reply form as typed (and its errors or preview).
        as_get = copy.copy(request)
        as_get.method, as_get.POST = "GET", QueryDict()
        return self.change_view(
            as_get, str(inquiry.pk), extra_context={"reply_form": form, "reply_preview": preview}
        )

    # --- Actions ---------------------------------------------------------------------------

    def _set_status(self, request, queryset, status):
        changed = 0
        for inquiry in queryset:
            if inquiry.status != status:
                inquiry.status = status
                inquiry.save()
                self.log_change(request, inquiry, f"Status set to {inquiry.get_status_display()}.")
                changed += 1
        label = Inquiry.Status(status).label.lower()
        self.message_user(request, f"{changed} marked {label}.", messages.SUCCESS)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        count = 0
        for inquiry in queryset.exclude(assigned_to=request.user):
            inquiry.assigned_to = request.user
            inquiry.save()
            self.log_change(request, inquiry, "Assigned to themselves.")
            count += 1
        self.message_user(request, f"{count} assigned to you.", messages.SUCCESS)

    @admin.action(description="Mark in progress", permissions=["change"])
    def mark_in_progress(self, request, queryset):
        self._set_status(request, queryset, Inquiry.Status.IN_PROGRESS)

    @admin.action(description="Mark answered", permissions=["change"])
    def mark_answered(self, request, queryset):
        self._set_status(request, queryset, Inquiry.Status.ANSWERED)

    @admin.action(description="Mark closed", permissions=["change"])
    def mark_closed(self, request, queryset):
        self._set_status(request, queryset, Inquiry.Status.CLOSED)

    @admin.action(description="Mark as spam", permissions=["change"])
    def mark_spam(self, request, queryset):
        self._set_status(request, queryset, Inquiry.Status.SPAM)

    @admin.action(description="Resend emails not yet delivered", permissions=["change"])
    def resend_undelivered_emails(self, request, queryset):
        deliveries = EmailDelivery.objects.filter(inquiry__in=queryset).exclude(
            status=EmailDelivery.Status.SENT
        )
        self._resend(request, deliveries)

    @admin.action(description="Send the staff notification again", permissions=["change"])
    def resend_staff_notification(self, request, queryset):
        deliveries = EmailDelivery.objects.filter(
            inquiry__in=queryset, kind=EmailDelivery.Kind.STAFF_NOTIFICATION
        )
        self._resend(request, deliveries)

    def _resend(self, request, deliveries):
        count = 0
        for delivery in deliveries.select_related("inquiry"):
            outbox.resend(delivery)
            self.log_change(request, delivery.inquiry, f"Queued the {delivery} email again.")
            count += 1
        if count:
            self.message_user(request, f"{count} email(s) queued to be sent again.")
        else:
            self.message_user(request, "Nothing to resend: those emails were sent.")

    @admin.action(description="Export selected as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="inquiries-{stamp}.csv"'
        response.write("\ufeff")  # lets spreadsheet programs detect UTF-8
        writer = csv.writer(response)
        columns = [
            ("reference", lambda i: i.reference),
            ("received", lambda i: timezone.localtime(i.received_at).isoformat()),
            ("status", lambda i: i.get_status_display()),
            ("assigned to", lambda i: i.assigned_to.get_username() if i.assigned_to else ""),
            ("asking as", lambda i: i.get_asking_as_display()),
            ("topic", lambda i: i.get_topic_display()),
            ("name", lambda i: i.name),
            ("email", lambda i: i.email),
            ("phone", lambda i: i.phone),
            ("prefers", lambda i: i.get_preferred_contact_display()),
            ("type of cancer", lambda i: i.cancer_type),
            ("question", lambda i: i.question),
            ("came from", lambda i: i.came_from),
            ("first answered", lambda i: _iso(i.first_response_at)),
            ("closed", lambda i: _iso(i.closed_at)),
        ]
        writer.writerow([name for name, _ in columns])
        rows = queryset.select_related("assigned_to").order_by("received_at")
        for inquiry in rows:
            writer.writerow([spreadsheet_safe(value(inquiry)) for _, value in columns])
        logger.info("%s exported %d inquiries as CSV", request.user.get_username(), len(rows))
        return response


def _iso(moment) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    """Every email about every inquiry: find the ones that failed.

    Read-only. Deleting is left to whoever may delete inquiries (their emails go with them).
    """

    list_display = (
        "inquiry",
        "kind",
        "status",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "kind")
    search_fields = ("inquiry__reference",)
    list_select_related = ("inquiry",)
    ordering = ("-created_at",)
    readonly_fields = (
        "inquiry_link",
        "kind",
        "status",
        "generation",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "recipients",
        "message_id",
        "last_error",
        "created_at",
    )
    fields = readonly_fields

    @admin.display(description="last error")
    def short_error(self, delivery):
        error = delivery.last_error
        return error[:80] + "…" if len(error) > 80 else error

    @admin.display(description="inquiry")
    def inquiry_link(self, delivery):
        url = reverse("admin:inquiries_inquiry_change", args=[delivery.inquiry_id])
        return format_html('<a href="{}">{}</a>', url, delivery.inquiry)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SavedAnswerForm(forms.ModelForm):
    class Meta:
        model = SavedAnswer
        fields = ("title", "body")
        widgets = {"body": forms.Textarea(attrs={"rows": 12, "cols": 80})}  # noqa: RUF012

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = render_reply(body).unknown
        if unknown:
            raise forms.ValidationError(unknown_pages_message(unknown))
        return body


@admin.register(SavedAnswer)
class SavedAnswerAdmin(admin.ModelAdmin):
    form = SavedAnswerForm
    list_display = ("title", "updated_at")
    search_fields = ("title", "body")


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = (
            "position",
            "active",
            "topic",
            "asking_as",
            "language",
            "assign_to",
            "assign_to_group",
            "notify_emails",
            "instead_of_default",
        )

    def clean_notify_emails(self):
        from inquiries.emails import valid_address

        value = self.cleaned_data["notify_emails"]
        bad = [a for a in RoutingRule(notify_emails=value).addresses if not valid_address(a)]
        if bad:
            raise forms.ValidationError(
                f"Enter email addresses like nurse@example.org, one per line: {', '.join(bad)} "
                f"{'is not one' if len(bad) == 1 else 'are not'}."
            )
        return value


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = (
        "position",
        "__str__",
        "assign_to",
        "assign_to_group",
        "notify_emails",
        "instead_of_default",
        "active",
    )
    list_display_links = ("__str__",)
    fields = (
        "position",
        "active",
        ("topic", "asking_as", "language"),
        ("assign_to", "assign_to_group"),
        "notify_emails",
        "instead_of_default",
    )
