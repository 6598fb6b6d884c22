"""The visitor's IP address behind the site's own proxies (nginx, a load balancer).

Used wherever the site limits what one client may do: sign-in throttling (django-axes) and the
question form's rate limit. TRUSTED_PROXY_COUNT says how many proxies append to
X-Forwarded-For; the client is the address the outermost of them saw. With 0, or without the
header, the connection's own address is used. A forged header can only add entries on the
left, which are never read.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-proxies] if len(hops) >= proxies else hops[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def axes_client_ip(request) -> str:
    """django-axes calls this (AXES_CLIENT_IP_CALLABLE) to key failed sign-ins by client."""
    return client_ip(request)
