"""Settings for the test suite: production settings with test-only values.

Debug stays off, as in production. Static files need no collectstatic, and passwords
hash quickly.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-" + "q8Wm3Zr5" * 6)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:2525")
os.environ.setdefault("INQUIRY_NOTIFY_EMAILS", "staff@example.org")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_DEBUG", "false")

from tilsite.settings import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Test clients speak plain HTTP.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# The test client's login() authenticates without a request, which django-axes refuses;
# the sign-in throttling tests switch it back on.
AXES_ENABLED = False
