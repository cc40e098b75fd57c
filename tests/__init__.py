"""The test suite (see tests/conftest.py)."""

import os

# Production runs psycopg under gevent, where it waits in Python (select-based), never in its C
# `wait_c`; the tests wait the same way. A test worker died once with a segmentation fault while
# an in-process change listener was waiting in `wait_c` (30 Nov 2026). The variable is read when
# psycopg is first imported and then dropped, so the gunicorn servers that tests start (gevent,
# which removes select.poll) choose for themselves as in production.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_poll")
import psycopg.waiting  # noqa: E402, F401 (imported for its choice of wait function)

os.environ.pop("PSYCOPG_WAIT_FUNC", None)
