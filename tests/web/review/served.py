"""`dwcoder serve`'s app on a real uvicorn on a spare loopback port (bounded start and stop), for the browser
test and the queue benchmark."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import uvicorn

from plugin.web.app import create_app, uvicorn_config


@contextmanager
def serve(settings, store, timeout_s: float = 15.0):
    app = create_app(settings, store=store, queue_event=lambda event_id: None)
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", 0, "warning"))
    thread = threading.Thread(target=server.run, name="review-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise RuntimeError("uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)
