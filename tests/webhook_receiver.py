"""A webhook receiver on 127.0.0.1 for tests, answering as each test scripts it."""

from __future__ import annotations

import http.server
import threading
import time


class WebhookReceiver:
    """Answers each POST with the next scripted status code (a float: sleep that long, then 200)."""

    def __init__(self, answers: list):
        self.answers, self.received = list(answers), []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append((dict((k.lower(), v) for k, v in self.headers.items()), body))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = 200
                self.send_response(answer)
                if answer == 302:
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
