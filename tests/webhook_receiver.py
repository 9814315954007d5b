"""A webhook receiver on 127.0.0.1 for tests, answering as each test scripts it and verifying
every request's signature as a real receiver would (the `standardwebhooks` library)."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
import time
from dataclasses import dataclass

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Trickle:
    """Answer 200, but one byte every interval_s: in a header (part="headers"), so the status
    and headers take total_s to arrive, or in the body after complete headers (part="body")."""

    interval_s: float = 0.1
    total_s: float = 3.0
    part: str = "headers"


class WebhookReceiver:
    """Answers each POST with the next scripted answer: a status code, a float (sleep that
    long, then 200) or a Trickle; 200 once the script is used up.

    `secret` is the endpoint's signing secret: each request is verified with it when it
    arrives, its event appended to `verified` or the reason to `failures` (the answer is the
    scripted one either way, so a test sees both the delivery and the signature)."""

    def __init__(self, answers: list, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None):
        self.answers, self.received = list(answers), []
        self.secret: str | None = None
        self.verified: list[dict] = []
        self.failures: list[str] = []
        self.server_names: list[str | None] = []  # TLS SNI of each handshake
        self.server = http.server.ThreadingHTTPServer((host, port), self._handler())
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/hook"

    def _check(self, headers: dict, body: bytes) -> None:
        if self.secret is None:
            self.failures.append("no secret to verify with")
            return
        try:
            self.verified.append(Webhook(self.secret).verify(body, headers))
        except Exception as e:  # noqa: BLE001 - any verification error is a failure to record
            self.failures.append(f"{type(e).__name__}: {e}")

    def _handler(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append((headers, body))
                receiver._check(headers, body)
                answer = receiver.answers.pop(0) if receiver.answers else 200
                self.close_connection = True
                # The sender may have given up and closed the connection: expected in timeout tests.
                with contextlib.suppress(OSError):
                    self._answer(answer)

            def _answer(self, answer):
                if isinstance(answer, Trickle):
                    return self._trickle(answer)
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = 200
                self.send_response(answer)
                if answer == 302:
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def _trickle(self, trickle: Trickle):
                count = int(trickle.total_s / trickle.interval_s)
                if trickle.part == "headers":
                    head, dribble, tail = b"HTTP/1.1 200 OK\r\nx-slow: ", b"a" * count, b"\r\ncontent-length: 0\r\n\r\n"
                else:
                    head, dribble, tail = f"HTTP/1.1 200 OK\r\ncontent-length: {count}\r\n\r\n".encode(), b"a" * count, b""
                self.wfile.write(head)
                self.wfile.flush()
                for byte in dribble:
                    time.sleep(trickle.interval_s)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                self.wfile.write(tail)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()
