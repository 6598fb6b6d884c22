"""The email outbox: EmailDelivery rows are claimed by the outbox worker (inquiries/outbox.py).

Emails that were waiting in the old task queue become due now, so that the outbox worker
sends them; the old queue's tables (django-tasks-db) are no longer used.
"""

from django.db import migrations, models
from django.utils import timezone


def make_pending_emails_due(apps, schema_editor):
    EmailDelivery = apps.get_model("inquiries", "EmailDelivery")
    EmailDelivery.objects.filter(status="pending", next_attempt_at__isnull=True).update(
        next_attempt_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0002_inquiry_reviewers_group"),
    ]

    operations = [
        migrations.AddField(
            model_name="emaildelivery",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="emaildelivery",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="emaildelivery",
            index=models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
        ),
        migrations.RunPython(make_pending_emails_due, migrations.RunPython.noop),
    ]
