"""A loopback HTTP server of in-memory files, for the tests of checkpoint URLs (no internet in
the tests): `with LoopbackServer() as server: server.files["/x.pth"] = data`, then fetch
`server.url + "/x.pth"`. A test helper of the three subprojects (standard library only)."""
from __future__ import annotations

import http.server
import threading
import time


class LoopbackServer:
    """Serves `files` (URL path -> bytes) on 127.0.0.1; `requests` lists the paths asked for.
    A path in `cut` is sent half, with the full Content-Length announced; `delay_s` holds
    each answer back (so that two clients ask at once)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        self.delay_s = 0.0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                time.sleep(server.delay_s)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if self.path in server.cut else body)
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
