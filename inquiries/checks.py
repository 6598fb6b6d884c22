"""System checks for the settings the question form needs (run by manage.py check)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


@checks.register()
def check_inquiry_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    recipients = getattr(settings, "INQUIRY_NOTIFY_EMAILS", [])
    if not recipients:
        errors.append(
            checks.Error(
                "INQUIRY_NOTIFY_EMAILS is empty: nobody would be told about new questions.",
                hint="Set INQUIRY_NOTIFY_EMAILS to staff addresses, separated by commas.",
                id="inquiries.E001",
            )
        )
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            errors.append(
                checks.Error(
                    f"INQUIRY_NOTIFY_EMAILS contains an invalid address: {address!r}.",
                    hint="Give plain addresses like staff@example.org, separated by commas.",
                    id="inquiries.E002",
                )
            )
    delays = getattr(settings, "INQUIRY_EMAIL_RETRY_DELAYS", [])
    if not delays or any(not isinstance(d, int) or d < 0 for d in delays):
        errors.append(
            checks.Error(
                "INQUIRY_EMAIL_RETRY_DELAYS must list one or more delays in seconds (0 or more).",
                hint="For example 60,300,1800,7200,21600,43200,43200,43200.",
                id="inquiries.E003",
            )
        )
    numbers = {
        "INQUIRY_MIN_FILL_SECONDS": 0,
        "INQUIRY_FORM_MAX_AGE_SECONDS": 60,
        "INQUIRY_RATE_LIMIT": 1,
        "INQUIRY_RATE_LIMIT_WINDOW_SECONDS": 1,
        "INQUIRY_RETENTION_DAYS": 1,
    }
    for name, minimum in numbers.items():
        if getattr(settings, name, minimum) < minimum:
            errors.append(
                checks.Error(
                    f"{name} must be {minimum} or more.",
                    id="inquiries.E004",
                )
            )
    working_days = getattr(settings, "INQUIRY_REPLY_WORKING_DAYS", None)
    if working_days is not None and working_days < 1:
        errors.append(
            checks.Error(
                "INQUIRY_REPLY_WORKING_DAYS must be 1 or more, or empty.", id="inquiries.E005"
            )
        )
    if working_days and getattr(settings, "INQUIRY_REPLY_TIME", ""):
        errors.append(
            checks.Warning(
                "INQUIRY_REPLY_TIME is set but INQUIRY_REPLY_WORKING_DAYS decides what the form "
                f'promises ("within {working_days} working days").',
                hint="Leave INQUIRY_REPLY_TIME empty when INQUIRY_REPLY_WORKING_DAYS is set.",
                id="inquiries.W001",
            )
        )
    return errors
