"""Questions the benchmark asks Django itself, run with the server's environment.

python -m bench.probe pages    every content page's address and HTML size, as JSON
python -m bench.probe counts   stored inquiries, email records and queued tasks, as JSON
"""

import json
import os
import sys


def pages() -> dict:
    from tilsite.pages import get_registry

    registry = get_registry()
    if registry.errors:
        raise SystemExit("content problems: " + "; ".join(map(str, registry.errors)))
    sizes = {
        page.url: len(page.html) + len(page.intro_html) + len(page.toc_html)
        for page in registry.pages.values()
    }
    return {"pages": sizes}


def counts() -> dict:
    """Stored inquiries, their email records, and queued tasks: the email sends (two per
    inquiry: inquiries.tasks.queue_emails) apart from the others (one stalled-send sweep)."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from inquiries.models import EmailDelivery, Inquiry
    from inquiries.tasks import TASK_PATH

    by_path = dict(DBTaskResult.objects.values_list("task_path").annotate(n=Count("id")).order_by())
    return {
        "inquiries": Inquiry.objects.count(),
        "deliveries": EmailDelivery.objects.count(),
        "send_tasks": by_path.pop(TASK_PATH, 0),
        "other_tasks": by_path,
    }


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilsite.settings")
    import django

    django.setup()
    commands = {"pages": pages, "counts": counts}
    if len(argv) != 1 or argv[0] not in commands:
        raise SystemExit(f"usage: python -m bench.probe {{{'|'.join(commands)}}}")
    print(json.dumps(commands[argv[0]]()))


if __name__ == "__main__":
    main(sys.argv[1:])
