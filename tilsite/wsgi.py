"""WSGI entry point for gunicorn.

The content checks run here too: a broken page or citation stops the server from starting
rather than reaching a patient.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilsite.settings")

application = get_wsgi_application()

from django.core import checks  # noqa: E402
from django.core.management.base import SystemCheckError  # noqa: E402

_content_errors = [
    message for message in checks.run_checks(tags=["content", "citations"]) if message.is_serious()
]
if _content_errors:
    raise SystemCheckError("\n".join(str(message) for message in _content_errors))
