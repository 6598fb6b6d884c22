"""Typed readers for settings that come from the environment.

Each helper fails loudly with ImproperlyConfigured, naming the variable, so that a
misconfigured deployment stops at start-up instead of misbehaving later.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    """A string; an empty or blank value counts as unset."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default  # a blank line copied from .env.example keeps the safe default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (got {raw!r}).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number (got {raw!r}).") from None


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks are dropped."""
    raw = os.environ.get(name, "").strip() or default
    return [item.strip() for item in raw.split(",") if item.strip()]


def is_weak_secret_key(key: str) -> bool:
    """The same test Django's security.W009 applies, plus its insecure prefix."""
    return len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")


def mailer_from_url(url: str, *, timeout: int = 20) -> dict:
    """Translate EMAIL_URL into a MAILERS entry.

    Accepted forms:
      console:                                  print messages to standard output
      smtp://user:pass@host:587?tls=1           SMTP with STARTTLS
      smtps://user:pass@host:465                SMTP over TLS (implicit)
      smtp://127.0.0.1:1025                     plain SMTP, no authentication
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps:// or console: (got {scheme or url!r})."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL must name a mail server host.")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    use_ssl = scheme == "smtps" or query.get("ssl", "").lower() in TRUE_VALUES
    use_tls = query.get("tls", "").lower() in TRUE_VALUES
    if use_ssl and use_tls:
        raise ImproperlyConfigured("EMAIL_URL cannot ask for both tls and ssl.")
    try:
        port = parts.port or (465 if use_ssl else 587 if use_tls else 25)
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has an invalid port.") from None
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": parts.hostname,
            "port": port,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": use_tls,
            "use_ssl": use_ssl,
            "timeout": int(query.get("timeout", timeout)),
        },
    }
