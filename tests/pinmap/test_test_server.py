"""The tests' HTTP server closes a response whose client has gone (tests/support/serving.py):
with werkzeug's own handler about a third of these connections left their file open, and the
ResourceWarning failed some later browser test under load."""

from __future__ import annotations

import gc
import socket
import struct
import threading
from pathlib import Path

from flask import Flask, send_file

from ..support.serving import make_test_server

RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset


def test_a_file_sent_to_a_client_that_reset_the_connection_is_closed(tmp_path: Path) -> None:
    small = tmp_path / "page.js"
    small.write_bytes(b"x" * 10_000)  # fits the socket buffer: sent whole before the reset
    app = Flask(__name__)
    app.add_url_rule("/f", "f", lambda: send_file(small))
    server = make_test_server(app)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            with socket.create_connection(("127.0.0.1", server.server_port)) as client:
                client.sendall(b"GET /f HTTP/1.1\r\nHost: test\r\n\r\n")
                assert client.recv(100).startswith(b"HTTP/1.1 200")
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    # A file left open warns when collected; the suite turns that warning into this test's error.
    gc.collect()
