"""The outbox worker: sends the inquiry emails that are due, retrying on the schedule.

Run one next to the web servers (`make run` and the Procfile do). On start it releases what
a previous process under the same --worker-id held, so a restarted worker takes its
interrupted send up again at once; any other worker takes it up when the claim expires
(INQUIRY_STALLED_SEND_SECONDS). SIGTERM or SIGINT: it finishes the email in hand, then exits.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from inquiries import outbox

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send the inquiry emails that are due, and keep doing so (the outbox worker)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--worker-id",
            default=outbox.default_worker_id(),
            help="a stable name for this worker, different for each worker running at once "
            "(default: <host name>-outbox)",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds to wait when nothing is due (default: 1)",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="send what is due now, then exit (for scripts and tests)",
        )

    def handle(self, *args, worker_id, interval, batch, **options):
        self.stopping = False
        if not batch:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        outbox.release_claims(worker_id)
        if batch:
            made = outbox.send_due(worker_id)
            if options["verbosity"] > 1:
                self.stdout.write(f"{made} attempt(s) made.")
            return
        self.stdout.write(f"Outbox worker {worker_id} started.")
        while not self.stopping:
            close_old_connections()  # as a request would: survive a database restart
            try:
                made = outbox.send_due(worker_id, limit=100)
            except Exception:  # the database is away: wait and try again, do not die
                logger.exception("Could not read the outbox; trying again shortly")
                made = 0
            if not made:
                time.sleep(interval)
        self.stdout.write(f"Outbox worker {worker_id} stopped.")

    def stop(self, signum, frame):
        self.stopping = True
