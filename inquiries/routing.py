"""Where a new question goes, and how long it may wait.

Routing rules (RoutingRule, edited in the admin) match an inquiry by topic and by who is
asking. The first matching rule that names a staff member or a group assigns the inquiry;
every matching rule adds its addresses to the staff notification, and a rule marked "instead
of the usual addresses" leaves INQUIRY_NOTIFY_EMAILS out.

Response times count working days, Monday to Friday (INQUIRY_REPLY_WORKING_DAYS); public
holidays are not known to the site.
"""

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import ngettext

from inquiries.models import Inquiry, RoutingRule


def matching_rules(inquiry: Inquiry) -> list[RoutingRule]:
    rules = RoutingRule.objects.filter(active=True).select_related("assign_to", "assign_to_group")
    return [rule for rule in rules if rule.matches(inquiry)]


def route(inquiry: Inquiry) -> None:
    """Assign a new, unsaved inquiry by the first matching rule that names someone."""
    for rule in matching_rules(inquiry):
        if rule.assign_to_id or rule.assign_to_group_id:
            inquiry.assigned_to = rule.assign_to
            inquiry.assigned_group = rule.assign_to_group
            return


def staff_recipients(inquiry: Inquiry) -> list[str]:
    """Who is told about this inquiry: the usual addresses and those of matching rules."""
    rules = matching_rules(inquiry)
    replaced = any(rule.instead_of_default for rule in rules)
    addresses = [] if replaced else list(settings.INQUIRY_NOTIFY_EMAILS)
    for rule in rules:
        addresses.extend(address for address in rule.addresses if address not in addresses)
    return addresses


def promised_reply_time() -> str:
    """What the form, the confirmation and the acknowledgement promise ("" promises nothing),
    in the active language (INQUIRY_REPLY_TIME is shown as written)."""
    days = settings.INQUIRY_REPLY_WORKING_DAYS
    if days:
        return ngettext("within %(days)d working day", "within %(days)d working days", days) % {
            "days": days
        }
    return settings.INQUIRY_REPLY_TIME


def working_days_ago(days: int, now: datetime.datetime | None = None) -> datetime.datetime:
    """The moment `days` working days (Monday to Friday) before now: a question received
    before it has waited longer than that many working days."""
    moment = timezone.localtime(now or timezone.now())
    remaining = days
    while remaining:
        moment -= datetime.timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


def waiting_too_long(inquiry: Inquiry, now: datetime.datetime | None = None) -> bool:
    days = settings.INQUIRY_REPLY_WORKING_DAYS
    return bool(
        days
        and inquiry.status in Inquiry.OPEN_STATUSES
        and inquiry.first_response_at is None
        and inquiry.received_at < working_days_ago(days, now)
    )
