"""What a person asked, what staff did with it and answered, and whether its emails went out.

An Inquiry is stored together with one EmailDelivery per email (the staff notification, the
acknowledgement to the person who asked, and one per Reply staff send); the outbox worker
records every sending attempt on it. SavedAnswer holds texts staff start replies from;
RoutingRule says who a new inquiry is assigned to and who is told about it.
RateLimitHit rows count recent submissions per client, keyed on a keyed hash of the address,
so that the limit is shared by every web process and no raw IP address is ever stored.
"""

import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

# No 0/O, 1/I/L or U: a reference read out over the phone or copied by hand stays unambiguous.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "TIL"
REFERENCE_PATTERN = rf"^{REFERENCE_PREFIX}-[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$"
QUESTION_MAX_LENGTH = 5000


def generate_reference() -> str:
    """A reference like TIL-7KQ2-M9XD: 8 random characters from 30, about 39 bits.

    It is shown to the person and used in emails; it is never used to look anything up for
    a visitor, so it need not be a secret, only unguessable and unique.
    """
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{chars[:4]}-{chars[4:]}"


class Inquiry(models.Model):
    # The person sees these three on the form (and the contact method in their emails): their
    # labels are translated. Staff see the admin in English.
    class AskingAs(models.TextChoices):
        PATIENT = "patient", gettext_lazy("A patient")
        CAREGIVER = "caregiver", gettext_lazy("A family member or caregiver")
        PROFESSIONAL = "professional", gettext_lazy("A healthcare professional")
        OTHER = "other", gettext_lazy("Other")

    class Topic(models.TextChoices):
        IS_TIL_RIGHT = "is-til-right", gettext_lazy("Is TIL right for me or my relative")
        TREATMENT_PROCESS = "treatment-process", gettext_lazy("The treatment process")
        SIDE_EFFECTS = "side-effects", gettext_lazy("Side effects")
        COSTS = "costs", gettext_lazy("Costs and insurance")
        CLINICAL_TRIALS = "clinical-trials", gettext_lazy("Clinical trials")
        OTHER = "other", gettext_lazy("Something else")

    class ContactMethod(models.TextChoices):
        EMAIL = "email", gettext_lazy("Email")
        PHONE = "phone", gettext_lazy("Phone")

    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in-progress", "In progress"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"
        SPAM = "spam", "Spam"

    OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS)
    # Closing covers spam: both end the inquiry's life and start the retention clock.
    CLOSED_STATUSES = (Status.CLOSED, Status.SPAM)

    # What the person submitted (read-only in the admin).
    reference = models.CharField(max_length=13, unique=True, editable=False)
    received_at = models.DateTimeField("received", default=timezone.now, editable=False)
    name = models.CharField(max_length=150)
    email = models.EmailField("email address")
    phone = models.CharField("phone number", max_length=30, blank=True)
    preferred_contact = models.CharField(
        "prefers to be contacted by", max_length=10, choices=ContactMethod
    )
    asking_as = models.CharField(max_length=20, choices=AskingAs)
    cancer_type = models.CharField("type of cancer", max_length=200, blank=True)
    topic = models.CharField(max_length=30, choices=Topic)
    question = models.TextField(validators=[MaxLengthValidator(QUESTION_MAX_LENGTH)])
    consent_given_at = models.DateTimeField("consent given", editable=False)
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        editable=False,
        help_text="The language of the form the person used: their emails and status page "
        "are in it.",
    )
    came_from = models.CharField(
        "came from page",
        max_length=200,
        blank=True,
        help_text="The page of this site the person was reading before the form.",
    )

    # What staff do with it.
    status = models.CharField(max_length=20, choices=Status, default=Status.NEW)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_inquiries",
        limit_choices_to={"is_staff": True, "is_active": True},
    )
    assigned_group = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_inquiries",
        verbose_name="assigned to group",
    )
    internal_notes = models.TextField(
        blank=True, help_text="Only staff see these notes. They are never emailed."
    )
    first_response_at = models.DateTimeField(
        "first answered", null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField("closed", null=True, blank=True, editable=False)
    updated_at = models.DateTimeField("last changed", auto_now=True)

    class Meta:
        verbose_name_plural = "inquiries"
        ordering = ("received_at",)
        permissions = (("export_inquiry", "Can export inquiries as CSV"),)
        indexes = (
            models.Index(fields=["status", "received_at"], name="inquiry_status_received_idx"),
            models.Index(fields=["status", "closed_at"], name="inquiry_status_closed_idx"),
        )

    def __str__(self):
        return self.reference

    def save(self, *args, **kwargs):
        self._apply_status_timestamps()
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        instance = super().from_db(db, field_names, values, fetch_mode=fetch_mode)
        instance._loaded_status = instance.__dict__.get("status", "")
        return instance

    def _apply_status_timestamps(self):
        """Record when the person was first answered and when the inquiry was closed.

        Done in save() so that every path (the change form, the list actions, the shell)
        keeps the timestamps right.
        """
        if self.status == getattr(self, "_loaded_status", None):
            return
        now = timezone.now()
        if self.status == self.Status.ANSWERED and self.first_response_at is None:
            self.first_response_at = now
        if self.status in self.CLOSED_STATUSES:
            self.closed_at = now
        else:
            self.closed_at = None  # reopened

    def save_with_new_reference(self, attempts: int = 5):
        """Insert the inquiry under a fresh reference, drawing again on the rare collision."""
        for _ in range(attempts):
            self.reference = generate_reference()
            try:
                with transaction.atomic():  # a savepoint: a collision leaves the outer intact
                    self.save(force_insert=True)
            except IntegrityError:
                if not Inquiry.objects.filter(reference=self.reference).exists():
                    raise  # some other constraint failed
                continue
            return
        raise IntegrityError("Could not find an unused inquiry reference.")


class EmailDelivery(models.Model):
    """One email about an inquiry, and what happened each time the worker tried to send it."""

    class Kind(models.TextChoices):
        STAFF_NOTIFICATION = "staff", "Staff notification"
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement to the person"
        REPLY = "reply", "Reply to the person"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20, choices=Kind)
    # Set for a reply's email (kind "reply"): one delivery per reply.
    reply = models.OneToOneField(
        "Reply", on_delete=models.CASCADE, null=True, blank=True, related_name="delivery"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    # Bumped when staff resend: older queued attempts then stand down, and the new email
    # gets its own Message-ID (a resend is intended, not a duplicate to be hidden).
    generation = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField("Message-ID", max_length=255, blank=True)
    recipients = models.TextField(blank=True, help_text="Where it was last sent.")
    created_at = models.DateTimeField(default=timezone.now)
    # The outbox worker holding this row (inquiries/outbox.py), and until when: a claim that
    # outlives its worker expires and any worker takes the row up again.
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "email delivery"
        verbose_name_plural = "email deliveries"
        ordering = ("inquiry", "kind")
        constraints = (
            models.UniqueConstraint(
                fields=["inquiry", "kind"],
                condition=models.Q(reply__isnull=True),
                name="one_delivery_per_kind",
            ),
        )
        indexes = (models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),)

    def __str__(self):
        return f"{self.inquiry} {self.get_kind_display().lower()}"

    def describe(self) -> str:
        """A short status line for staff: pending / sent at ... / failed after N attempts."""
        if self.status == self.Status.SENT:
            return f"sent {timezone.localtime(self.sent_at):%d %b %Y %H:%M}"
        if self.status == self.Status.FAILED:
            return f"failed after {self.attempts} attempts"
        if self.attempts:
            word = "attempt" if self.attempts == 1 else "attempts"
            return f"pending, retrying ({self.attempts} failed {word})"
        return "pending"


class RateLimitHit(models.Model):
    """A submission (or a rejected spam attempt) from one client, for the rate limit.

    client_key is an HMAC of the client's address (or its IPv6 /64) under SECRET_KEY;
    rows older than the rate-limit window are deleted as new ones arrive.
    """

    client_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = (
            models.Index(fields=["client_key", "created_at"], name="ratelimit_client_idx"),
            models.Index(fields=["created_at"], name="ratelimit_created_idx"),
        )

    def __str__(self):
        return f"{self.client_key[:12]}… at {self.created_at:%Y-%m-%d %H:%M}"


class SavedAnswer(models.Model):
    """A text staff start a reply from. [[slug]] points to a page of the site."""

    title = models.CharField(max_length=120, unique=True)
    body = models.TextField(
        help_text="Write [[page-slug]], for example [[side-effects]], to point to a page of "
        "this site: the email shows the page's title and full address."
    )
    updated_at = models.DateTimeField("last changed", auto_now=True)

    class Meta:
        ordering = ("title",)

    def __str__(self):
        return self.title


class Reply(models.Model):
    """An answer staff sent to the person from the admin (by email, through the outbox)."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField("reply")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "replies"
        ordering = ("sent_at", "pk")

    def __str__(self):
        return f"Reply to {self.inquiry} on {timezone.localtime(self.sent_at):%d %b %Y %H:%M}"


class RoutingRule(models.Model):
    """Who a new inquiry goes to, by its topic and who is asking. Every active rule that
    matches adds its addresses; the first matching rule with an assignee assigns it."""

    position = models.PositiveIntegerField(
        default=0, help_text="Rules are tried from the lowest number up."
    )
    active = models.BooleanField(default=True)
    topic = models.CharField(
        max_length=30, choices=Inquiry.Topic, blank=True, help_text="Empty: any topic."
    )
    asking_as = models.CharField(
        max_length=20, choices=Inquiry.AskingAs, blank=True, help_text="Empty: anyone."
    )
    language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, blank=True, help_text="Empty: any language."
    )
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True, "is_active": True},
        verbose_name="assign to staff member",
    )
    assign_to_group = models.ForeignKey(
        Group, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notify_emails = models.TextField(
        "also tell",
        blank=True,
        help_text="Email addresses told about each matching inquiry, one per line or "
        "separated by commas.",
    )
    instead_of_default = models.BooleanField(
        "instead of the usual addresses",
        default=False,
        help_text="Tell only these addresses, not INQUIRY_NOTIFY_EMAILS.",
    )

    class Meta:
        ordering = ("position", "pk")

    def __str__(self):
        topic = self.get_topic_display() if self.topic else "any topic"
        asking = self.get_asking_as_display() if self.asking_as else "anyone"
        return f"{topic}, asked by {asking.lower()}"

    def matches(self, inquiry: "Inquiry") -> bool:
        return (
            self.active
            and self.topic in {"", inquiry.topic}
            and self.asking_as in {"", inquiry.asking_as}
            and self.language in {"", inquiry.language}
        )

    @property
    def addresses(self) -> list[str]:
        parts = self.notify_emails.replace(",", "\n").replace(";", "\n").split()
        return [part.strip() for part in parts if part.strip()]
