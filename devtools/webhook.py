"""A webhook receiver: a real HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers 503 to the first `fail_first` requests, then 204; waits `delay` s before each answer."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0, path: str = "/hook") -> None:
        self.bodies: list[dict] = []
        self.authorizations: list[str | None] = []
        self.requests = 0
        self.fail_first, self.delay = fail_first, delay
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests += 1
                receiver.authorizations.append(self.headers.get("Authorization"))
                time.sleep(receiver.delay)
                if receiver.requests <= receiver.fail_first:
                    self.send_response(503)
                else:
                    assert self.headers["Content-Type"] == "application/json"
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
