"""Real processes for the worker tests: Celery workers (`celery -A workers.app worker`), and a Redis server of
the test's own on a spare loopback port (for restarts; never the machine's shared one)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Worker:
    """One Celery worker process (solo pool: the task runs in this very process, so SIGKILL kills it mid-task)."""

    def __init__(self, env: dict[str, str], logdir: Path, name: str, beat: bool = False) -> None:
        self.env, self.log, self.name, self.beat = env, logdir / f"{name}.log", name, beat
        self.schedule = logdir / f"{name}-beat"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "Worker":
        cmd = [CELERY, "-A", "workers.app", "worker", "--pool", "solo", "--loglevel", "INFO", "-n", f"{self.name}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.beat:
            cmd += ["-B", "-s", str(self.schedule)]
        start_at = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.text()[-2000:]}")
            if b"ready." in self.log.read_bytes()[start_at:]:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready after {timeout:g} s: {self.text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL to the worker's process group (the worker and its beat child)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class OwnRedis:
    """redis-server on a spare port, without persistence (a restart empties it, like a crashed broker)."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.dir = spare_port(), workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("own redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def queued(self, queue: str) -> int:
        return redis.Redis(port=self.port).llen(queue)
