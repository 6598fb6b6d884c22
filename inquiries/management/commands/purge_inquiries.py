"""Delete inquiries that were closed (or marked spam) longer ago than the retention period.

With each inquiry go its email delivery records (the outbox holds no copy of what the person
wrote: emails are built from the inquiry when sent). Expired rate-limit rows are removed too.

Run it daily, e.g. from cron:  python manage.py purge_inquiries
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from inquiries.models import Inquiry, RateLimitHit


class Command(BaseCommand):
    help = (
        "Delete inquiries closed or marked spam more than INQUIRY_RETENTION_DAYS ago, "
        "with their email records."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Retention in days (default: the INQUIRY_RETENTION_DAYS setting).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be deleted, and delete nothing.",
        )

    def handle(self, *, days, dry_run, verbosity, **options):
        days = settings.INQUIRY_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        now = timezone.now()
        cutoff = now - timedelta(days=days)
        expired = Inquiry.objects.filter(
            status__in=Inquiry.CLOSED_STATUSES, closed_at__lt=cutoff
        ).order_by("pk")
        ids = list(expired.values_list("pk", flat=True))
        old_hits = RateLimitHit.objects.filter(
            created_at__lt=now - timedelta(seconds=settings.INQUIRY_RATE_LIMIT_WINDOW_SECONDS)
        )

        if dry_run:
            self.stdout.write(
                f"Would delete {len(ids)} inquiries closed before {cutoff:%Y-%m-%d}. "
                "Nothing was deleted (dry run)."
            )
            if verbosity > 1:
                for reference in expired.values_list("reference", flat=True):
                    self.stdout.write(f"  {reference}")
            return

        with transaction.atomic():
            _, per_model = expired.filter(pk__in=ids).delete()
            old_hits.delete()
        self.stdout.write(
            f"Deleted {per_model.get('inquiries.Inquiry', 0)} inquiries closed before "
            f"{cutoff:%Y-%m-%d}, with their email records."
        )
