"""Queue again the emails whose worker stopped in the middle of sending them.

The sweep task does this on its own every INQUIRY_STALLED_SEND_SECONDS while emails are
pending. Run this before a worker with a fixed --worker-id starts again, to recover at once
what its previous process had claimed (deploy/systemd/tilsite-worker.service does).
"""

from django.core.management.base import BaseCommand

from inquiries.tasks import recover_stalled_emails


class Command(BaseCommand):
    help = "Queue again the emails whose worker stopped mid-send."

    def add_arguments(self, parser):
        parser.add_argument(
            "--worker-id",
            help="recover every send this worker id had claimed (its process is gone), "
            "instead of those running longer than INQUIRY_STALLED_SEND_SECONDS",
        )

    def handle(self, *args, worker_id=None, **options):
        count = recover_stalled_emails(worker_id=worker_id)
        self.stdout.write(f"{count} email(s) queued again.")
