"""What the API serves without an API key, and to whom.

- GET /metrics: with the Prometheus token (SWESCRIBE_METRICS_TOKEN) only; without one
  configured it is off, unless keys are switched off and the whole API is open anyway. The
  client's address is not trusted instead: behind a reverse proxy on the same host every
  request arrives from 127.0.0.1.
- /docs, /redoc, /openapi.json: SWESCRIBE_PUBLIC_DOCS; `auto` serves them only when the API
  listens on a loopback address (the address `swescribe api` is given).
- SWESCRIBE_AUTH_DISABLED=1: refused on an address other machines can reach unless
  SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE=1 says that is meant.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Annotated

from fastapi import Depends, Header

from app.deps import SettingsDep
from app.errors import ApiError
from workers.settings import Settings

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


class UnsafeBind(Exception):
    """The API was asked to listen where its settings do not allow it."""


def is_loopback_host(host: str | None) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost).

    0.0.0.0, ::, a LAN address or any other host name count as reachable from elsewhere; so
    does an unknown bind (None), e.g. `uvicorn app.main:create_app --factory` started by hand.
    """
    if host is None:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Raise UnsafeBind when keys are off and `host` is reachable from other machines."""
    if not settings.auth_disabled or is_loopback_host(host) or settings.auth_disabled_allow_remote:
        return
    raise UnsafeBind(
        f"SWESCRIBE_AUTH_DISABLED=1 switches API keys off, and {host} is an address other machines can reach: "
        "anyone there could read and delete every job. Listen on 127.0.0.1 (--host 127.0.0.1), or turn keys "
        "back on (unset SWESCRIBE_AUTH_DISABLED and create one with `swescribe keys create NAME`). If something "
        "in front of the API already decides who gets in, set SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE=1 as well."
    )


def warn_if_open(settings: Settings, bind_host: str | None) -> None:
    """Log, once at start, that the API serves every job to whoever reaches it."""
    if not settings.auth_disabled:
        return
    if is_loopback_host(bind_host):
        logger.warning("API keys are off (SWESCRIBE_AUTH_DISABLED=1): every local caller sees every job")
    elif bind_host is None:
        logger.warning(
            "API keys are off (SWESCRIBE_AUTH_DISABLED=1) and the address this API listens on is unknown: "
            "keep it on 127.0.0.1, anyone who reaches it sees every job"
        )
    else:
        logger.warning(
            "API keys are off (SWESCRIBE_AUTH_DISABLED=1) on %s, allowed by SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE=1: "
            "anyone who reaches this address sees and deletes every job",
            bind_host,
        )


def docs_are_public(settings: Settings, bind_host: str | None) -> bool:
    if settings.public_docs == "auto":
        return is_loopback_host(bind_host)
    return settings.public_docs


def metrics_token(settings: Settings) -> str | None:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    return token or None


def require_metrics_access(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """GET /metrics: the configured token as a Bearer token (401 otherwise); off (403) when no
    token is configured, except with keys switched off."""
    expected = metrics_token(settings)
    if expected is None:
        if settings.auth_disabled:
            return  # the whole API is open to its callers: the counts are no secret from them
        raise ApiError(
            403,
            "metrics_disabled",
            "metrics are off: set SWESCRIBE_METRICS_TOKEN on the server and scrape with Authorization: Bearer <token>",
        )
    sent = ""
    if authorization and authorization.lower().startswith("bearer "):
        sent = authorization[7:].strip()
    # compare_digest: the time taken does not tell how much of a guess was right.
    if not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(
            401,
            "unauthorized",
            "send the metrics token: Authorization: Bearer <SWESCRIBE_METRICS_TOKEN>",
            {"WWW-Authenticate": "Bearer"},
        )


MetricsAccessDep = Annotated[None, Depends(require_metrics_access)]
