"""One signed POST to one URL. Never raises: every outcome comes back as a SendResult."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from .signing import signed_headers
from .url_guard import UnsafeWebhookUrl, UrlPolicy, check_webhook_url

USER_AGENT = "swescribe-webhooks/1"


@dataclass(frozen=True)
class SendResult:
    status_code: int | None  # None: no HTTP answer (refused URL, connection error, timeout)
    latency_ms: int
    error: str | None = None
    refused: bool = False  # the URL itself is not allowed: retrying cannot help


def send(url: str, secret: str, message_id: str, body: bytes, policy: UrlPolicy, timeout_s: float) -> SendResult:
    try:
        check_webhook_url(url, policy)
    except UnsafeWebhookUrl as e:
        return SendResult(None, 0, str(e), refused=True)
    headers = {**signed_headers(secret, message_id, int(time.time()), body), "user-agent": USER_AGENT}
    started = time.perf_counter()
    try:
        # Redirects are not followed: a 3xx could send a signed transcript inside the network.
        response = httpx.post(url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as e:
        return SendResult(None, _ms_since(started), f"{type(e).__name__}: {e}")
    error = None if response.is_success else f"HTTP {response.status_code}"
    return SendResult(response.status_code, _ms_since(started), error)


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
