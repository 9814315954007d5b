"""Refuse webhook URLs that point into the operator's own network (SSRF).

A case-handling system is reached over the network; a URL that resolves to loopback, a
private range, link-local (169.254.169.254 is the cloud metadata service), multicast, the
carrier-grade NAT range 100.64.0.0/10 or any other address that is not globally routable
would let an API key holder make this service call internal systems. Such URLs are refused
unless the operator allows private targets by setting (e.g. a case system on the same LAN).
Every address a name resolves to is checked, not just the first, and the sender connects to
those checked addresses only (sender.py), so a name cannot resolve to something else later.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import httpx

ALLOWED_SCHEMES = ("https", "http")


class UnsafeWebhookUrl(ValueError):
    """The URL may not be used as a webhook target; the message says why."""


@dataclass(frozen=True)
class UrlPolicy:
    """allow_private: permit loopback, private and link-local targets (operator's choice).
    allow_http: permit plain http (signatures still protect integrity, not confidentiality)."""

    allow_private: bool = False
    allow_http: bool = True


def check_webhook_url(url: str, policy: UrlPolicy = UrlPolicy(), resolve=socket.getaddrinfo) -> list[str]:
    """Validate `url`; return the addresses it resolves to, all of them allowed, in the
    resolver's order of preference (the sender dials them in that order)."""
    parts = parse_webhook_url(url)
    if parts.scheme not in ALLOWED_SCHEMES or (parts.scheme == "http" and not policy.allow_http):
        raise UnsafeWebhookUrl(f"webhook URL must be {'http or https' if policy.allow_http else 'https'}: {url!r}")
    if not parts.host:
        raise UnsafeWebhookUrl(f"webhook URL has no host: {url!r}")
    if parts.userinfo:
        raise UnsafeWebhookUrl("webhook URL must not carry credentials; deliveries are signed instead")
    if parts.port is not None and not 1 <= parts.port <= 65535:
        raise UnsafeWebhookUrl(f"webhook URL has an invalid port {parts.port}: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = resolve(parts.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise UnsafeWebhookUrl(f"webhook host {parts.host!r} does not resolve ({e})") from e
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeWebhookUrl(f"webhook host {parts.host!r} does not resolve")
    for address in addresses:
        reason = _forbidden(ipaddress.ip_address(address.split("%")[0]))
        if reason and not policy.allow_private:
            raise UnsafeWebhookUrl(
                f"webhook host {parts.host!r} resolves to {address}, a {reason} address; "
                "such targets are refused unless the operator allows private targets"
            )
    return addresses


def parse_webhook_url(url: str) -> httpx.URL:
    """`url` parsed by the parser the sender uses (httpx), so a URL that passes here is one the
    sender can send to: control characters, bad ports and malformed hosts are refused here,
    not found later by a delivery attempt that cannot even start."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UnsafeWebhookUrl(f"webhook URL contains whitespace or control characters: {url!r}")
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as e:
        raise UnsafeWebhookUrl(f"webhook URL cannot be parsed ({e}): {url!r}") from e


# Python 3.11 counts 100.64.0.0/10 (RFC 6598, shared by carrier-grade NAT and many internal
# networks) as neither private nor global; it is named here so the refusal says what it is.
_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    address = _embedded_ipv4(address)
    checks = [
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("carrier-grade NAT", address in _CARRIER_GRADE_NAT),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        # Whatever the named checks miss (e.g. documentation and benchmarking ranges): only
        # globally routable targets are allowed.
        ("non-global", not address.is_global),
    ]
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv6 address stands for (::ffff:a.b.c.d, 6to4 2002:aabb:ccdd::), else itself:
    2002:7f00:1:: counts as global but carries 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address
