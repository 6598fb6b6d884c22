"""System check for the feedback setting (run by manage.py check, at start-up and in CI)."""

from django.conf import settings
from django.core import checks


@checks.register()
def check_feedback_settings(app_configs=None, **kwargs):
    limit = getattr(settings, "FEEDBACK_RATE_LIMIT", None)
    if not isinstance(limit, int) or limit < 1:
        return [
            checks.Error(
                f"FEEDBACK_RATE_LIMIT must be 1 or more (got {limit!r}).",
                hint="It is how many answers one client may give in a day; the default is 30.",
                id="feedback.E001",
            )
        ]
    return []
