"""One signed POST to one URL. Never raises: every outcome comes back as a SendResult.

The connection goes to the addresses the URL guard checked, never to a second lookup of the
name: a name can answer a public address to the check and 127.0.0.1 a moment later (DNS
rebinding). The request keeps the URL's host name, so the Host header, TLS SNI and certificate
verification are all for that name. No HTTP proxy is used, for the same reason.

One deadline bounds the whole attempt (connect, TLS, sending, waiting for the status and
headers): per-phase timeouts alone let a receiver trickling a byte at a time hold the worker
for as long as it likes. The response body is never read; the status is the answer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpcore
import httpx

from workers.webhooks.signing import signed_headers
from workers.webhooks.url_guard import UnsafeWebhookUrl, UrlPolicy, check_webhook_url

USER_AGENT = "swescribe-webhooks/1"
# Writes go out in pieces no larger than this, so each piece gets the deadline's remainder.
_WRITE_CHUNK_BYTES = 64 * 1024
_NETWORK_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None  # None: no HTTP answer (refused URL, connection error, timeout)
    latency_ms: int
    error: str | None = None
    refused: bool = False  # the URL itself is not allowed: retrying cannot help


def send(
    url: str,
    secret: str | Sequence[str],
    message_id: str,
    body: bytes,
    policy: UrlPolicy,
    timeout_s: float,
    resolve=socket.getaddrinfo,
) -> SendResult:
    """POST `body` signed to `url`; `timeout_s` bounds the whole attempt. `resolve` is the
    name lookup (socket.getaddrinfo's signature), done once, by the URL guard."""
    try:
        addresses = check_webhook_url(url, policy, resolve)
    except UnsafeWebhookUrl as e:
        return SendResult(None, 0, str(e), refused=True)
    headers = {**signed_headers(secret, message_id, int(time.time()), body), "user-agent": USER_AGENT}
    started = time.perf_counter()
    try:
        status = _post(httpx.URL(url), addresses, headers, body, timeout_s)
    except _NETWORK_ERRORS as e:
        return SendResult(None, _ms_since(started), f"{type(e).__name__}: {e}")
    error = None if 200 <= status < 300 else f"HTTP {status}"
    return SendResult(status, _ms_since(started), error)


def _post(url: httpx.URL, addresses: list[str], headers: dict[str, str], body: bytes, timeout_s: float) -> int:
    """The status of one POST to `url` over a connection to one of `addresses`.

    Redirects are not followed (httpcore never does): a 3xx could send a signed transcript
    inside the network."""
    backend = PinnedBackend(addresses, time.monotonic() + timeout_s)
    target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
    timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
    # httpx's SSL context: certifi, or SSL_CERT_FILE / SSL_CERT_DIR when set (an internal CA).
    with httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=backend) as pool:
        # httpcore sends exactly these headers: Host and Content-Length are not added for us.
        request_headers = [
            (b"host", url.netloc),
            (b"content-length", str(len(body)).encode()),
            *((k.encode(), v.encode()) for k, v in headers.items()),
        ]
        with pool.stream("POST", target, headers=request_headers, content=body, extensions={"timeout": timeouts}) as response:
            return response.status


class PinnedBackend(httpcore.NetworkBackend):
    """Connects only to `addresses` (already checked), in order, the next when one cannot be
    reached; every network operation on the connection ends by `deadline` (time.monotonic())."""

    def __init__(self, addresses: list[str], deadline: float):
        self.addresses, self.deadline = addresses, deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None) -> httpcore.NetworkStream:
        # `host` is the URL's name; looking it up again is exactly what must not happen.
        error: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in self.addresses:
            try:
                stream = self._inner.connect_tcp(
                    address, port, _remaining(timeout, self.deadline, httpcore.ConnectTimeout), local_address, socket_options
                )
                return DeadlineStream(stream, self.deadline)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake each get at most what is left of the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float):
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), _WRITE_CHUNK_BYTES):
            piece = buffer[start : start + _WRITE_CHUNK_BYTES]
            self._inner.write(piece, _remaining(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout, self._deadline, httpcore.ConnectTimeout))
        return DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def _remaining(timeout: float | None, deadline: float, error: type[Exception]) -> float:
    """The timeout for the next operation: the phase's own, cut to what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
