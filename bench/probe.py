"""Questions the benchmark asks Django itself, run with the server's environment.

python -m bench.probe pages    every content page's address and HTML size, as JSON
python -m bench.probe counts   stored inquiries and their emails waiting in the outbox, as JSON
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
    """Stored inquiries and their emails due in the outbox (two per inquiry:
    inquiries.outbox.queue_emails; no worker runs during the benchmark)."""
    from inquiries.models import EmailDelivery, Inquiry

    return {
        "inquiries": Inquiry.objects.count(),
        "deliveries": EmailDelivery.objects.count(),
        "send_tasks": EmailDelivery.objects.filter(
            status=EmailDelivery.Status.PENDING, next_attempt_at__isnull=False
        ).count(),
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
