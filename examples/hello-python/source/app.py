"""The book's "hello world" service (chapter 14), on the standard library only.

GET / answers {"msg": "hello world!", "host": <hostname>}; in a cluster the host name is the
pod's, so repeated requests through the Service show which replica answered. GET /healthz is
for the kubelet's probes. No third-party packages: nothing to pin, patch or audit besides the
base image, and no debug server to forget switched on.
"""

import json
import logging
import os
import signal
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = logging.getLogger("hello-python")


class HelloHandler(BaseHTTPRequestHandler):
    server_version = "hello-python"
    # Hide the Python version from the Server header.
    sys_version = ""

    def do_GET(self):  # noqa: N802 (name required by BaseHTTPRequestHandler)
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send_json(HTTPStatus.OK, {"msg": "hello world!", "host": socket.gethostname()})
        elif path == "/healthz":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_HEAD(self):  # noqa: N802
        self.do_GET()

    def _send_json(self, status, body):
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        LOG.info("%s %s", self.address_string(), format % args)


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("", port), HelloHandler)
    server.daemon_threads = True

    # As PID 1 in a container the process gets no default SIGTERM handling: without a handler,
    # Kubernetes waits the whole grace period and then kills it. Shut down cleanly instead.
    def stop(signum, _frame):
        LOG.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    LOG.info("listening on port %d", server.server_address[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
