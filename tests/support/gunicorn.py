"""Real gunicorn hosts (gevent workers, as `make run` starts them) for the live and cache tests.

A host is started without waiting (`start`), so that several boot side by side, or while a
module's other tests run; `up` then waits until it answers. Booting is most of what these
tests cost: each worker imports the whole app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from pinmap.config import PROJECT_ROOT
from pinmap.localdb import free_port

from .httpget import get
from .waits import until


@dataclass
class Host:
    """One gunicorn master (a process group of its own, with its workers) and its address."""

    proc: subprocess.Popen[bytes]
    base: str


def start(database_url: str, workers: int, **env: str) -> Host:
    """Start one master with `workers` gevent workers on `database_url`; `env` adds settings."""
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "PINMAP_VAR_DIR": tempfile.mkdtemp(prefix="pinmap-gunicorn-"),
    }
    environ.pop("PINMAP_API_CACHE", None)  # the cache as deployed (on) unless `env` says
    environ.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "pinmap.wsgi:app", "-k", "gevent"]
        + ["-w", str(workers), "--worker-connections", "200", "-b", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a process group of its own, for stop()
    )
    return Host(proc, f"http://127.0.0.1:{port}")


def answering(base: str) -> bool:
    """Whether the host at `base` answers /healthz with a 200 now."""
    try:
        return get(base, "/healthz", timeout=5).status == 200
    except OSError:
        return False


def up(hosts: list[Host]) -> list[Host]:
    """Wait until every host answers (asserted); the hosts."""
    for host in hosts:
        assert host.proc.poll() is None, f"gunicorn exited ({host.proc.returncode})"
        assert until(lambda h=host: answering(h.base), timeout=60), "gunicorn did not start"
    return hosts


def stop(hosts: list[Host]) -> None:
    """Kill each master and its workers at once.

    Even gunicorn's quick shutdown (SIGINT) waits for open handlers, and a stream whose client
    left ends only at its next heartbeat (15 s). Nothing here is about shutting down; the
    database drops the killed connections."""
    for host in hosts:
        try:
            os.killpg(host.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone
    for host in hosts:
        host.proc.wait()
