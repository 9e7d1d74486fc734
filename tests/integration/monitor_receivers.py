"""Real local HTTP receivers (http.server threads on 127.0.0.1) standing in for webhook sinks."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Records every POST (path, headers, body, monotonic arrival time); answers ``status``
    (or the next of ``statuses``). Start it on a given port to come up late ("down for a while")."""

    def __init__(self, port: int = 0, statuses: list[int] | None = None, status: int = 200):
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.status = status
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                with outer._lock:
                    code = outer.statuses.pop(0) if outer.statuses else outer.status
                    outer.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": code,
                            "at": time.monotonic(),
                        }
                    )
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ok_bodies(self) -> list[Any]:
        return [json.loads(r["body"]) for r in self.requests if 200 <= r["status"] < 300]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
