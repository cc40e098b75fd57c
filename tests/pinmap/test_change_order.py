"""Change ids become visible in id order, so a listener reading `id > last` never skips one.

The change-order lock is taken when a transaction draws its change ids, which is now just
before it commits (or when it reads a change's id), and held until it has committed. These
tests stop one transaction between drawing its id and committing, let a second one try to
commit first, and watch what the per-process listener (pinmap.live.Broker) delivers.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from pinmap.db import make_engine
from pinmap.live import Broker, Change, Subscriber
from pinmap.localdb import Cluster
from pinmap.models import ChangeEvent
from pinmap.services.audit import ChangeRolledBack, emit_change

from ..support.databases import prepared_database
from ..support.waits import until


@dataclass
class OrderDB:
    url: str
    engine: Engine

    def factory(self, engine: Engine | None = None) -> sessionmaker[Session]:
        return sessionmaker(bind=engine or self.engine, expire_on_commit=False)


@pytest.fixture(scope="module")
def db(pg_cluster: Cluster) -> Iterator[OrderDB]:
    url = prepared_database(pg_cluster, "pinmap_change_order")
    engine = make_engine(url)
    yield OrderDB(url, engine)
    engine.dispose()


@dataclass
class Listening:
    """A per-process listener (pinmap.live.Broker) and one subscriber of every change."""

    broker: Broker
    sub: Subscriber
    dsn: str


@pytest.fixture
def listener(db: OrderDB) -> Iterator[Listening]:
    dsn = db.url.replace("postgresql+psycopg://", "postgresql://", 1)
    broker = Broker(dsn)
    sub = broker.subscribe(None)
    assert broker.connected.wait(5)
    yield Listening(broker, sub, dsn)
    broker.unsubscribe(sub)


def _queued(listener: Listening) -> list[int]:
    """The change ids on the subscriber's queue now, taken off it."""
    ids: list[int] = []
    while True:
        try:
            change = listener.sub.queue.get_nowait()
        except queue.Empty:
            return ids
        if isinstance(change, Change):
            ids.append(change.id)


def _after_a_read(listener: Listening) -> list[int]:
    """What the listener has delivered once it has read the change table afresh: woken by a
    notification that names no change, waited for (twice: the first wake-up may be one already
    under way, begun before the caller's state was set up), never a quiet spell a busy machine
    can outrun."""
    with psycopg.connect(listener.dsn, autocommit=True) as conn:
        for _ in range(2):
            reads = listener.broker.reads
            conn.execute("SELECT pg_notify('pinmap_changes', '')")
            assert until(lambda n=reads: listener.broker.reads > n), "the listener did not wake"
    return _queued(listener)


def _before_marker(db: OrderDB, listener: Listening) -> list[int]:
    """The change ids delivered before a change committed now (the marker), waited for.

    The listener delivers changes in id order and each one once, so anything extra the
    changes under test made it deliver (a duplicate, a change out of order, one it should have
    skipped) is queued before the marker, whose id is higher than all of theirs."""
    marker = _commit_one(db.factory(), "marker")
    ids: list[int] = []
    while True:
        change = listener.sub.queue.get(timeout=10)  # queue.Empty: the marker never came
        if isinstance(change, Change):
            if change.id == marker:
                return ids
            ids.append(change.id)


def _in_thread(fn: Callable[[], int]) -> tuple[threading.Thread, list[int]]:
    out: list[int] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def _waiting_on_the_lock(db: OrderDB) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
            ).scalar_one()
        )


def _commit_one(factory: sessionmaker[Session], label: str) -> int:
    with factory.begin() as session:
        change = emit_change(session, "office.updated", "spp-krabi", {"test": label})
    return change.id


def test_without_the_lock_a_change_that_commits_late_is_skipped(
    db: OrderDB, listener: Listening
) -> None:
    """Why the lock exists: ids drawn in one order and committed in the other."""
    insert = text(
        "INSERT INTO change_events (kind, office_code, payload) "
        "VALUES ('office.updated', 'spp-krabi', '{}') RETURNING id"
    )
    notify = text("SELECT pg_notify('pinmap_changes', :id)")
    with db.engine.connect() as late, db.engine.connect() as early:
        first = late.execute(insert).scalar_one()  # drawn first, committed last
        second = early.execute(insert).scalar_one()
        early.execute(notify, {"id": str(second)})
        early.commit()
        assert _before_marker(db, listener) == [second]
        late.execute(notify, {"id": str(first)})
        late.commit()
    assert first < second
    # The listener is past `first`: it never sees it, though woken by its notification (which
    # comes before the marker's).
    assert _before_marker(db, listener) == []


def test_a_change_whose_id_was_read_first_is_never_skipped(
    db: OrderDB, listener: Listening
) -> None:
    factory = db.factory()
    with factory.begin() as late:
        first = emit_change(late, "office.updated", "spp-krabi", {"test": "late"}).id
        # Another transaction now draws its id and tries to commit before this one.
        thread, out = _in_thread(lambda: _commit_one(factory, "early"))
        # Waits until the other transaction queues on the lock (what a fixed pause hoped for).
        assert until(lambda: _waiting_on_the_lock(db) == 1)
        assert thread.is_alive() and _waiting_on_the_lock(db) == 1
        assert _after_a_read(listener) == []
    thread.join(10)
    assert not thread.is_alive()
    second = out[0]
    assert first < second
    assert _before_marker(db, listener) == [first, second]


def test_a_change_committing_slowly_is_never_skipped(db: OrderDB, listener: Listening) -> None:
    """Ids drawn at commit: one transaction stopped between its ids and its COMMIT holds back
    another that wants to commit first; the listener gets both, in order."""
    slow_engine = make_engine(db.url)
    holding, release = threading.Event(), threading.Event()

    @event.listens_for(slow_engine, "commit")
    def _pause(conn: object) -> None:
        holding.set()  # the change record is written, its id drawn; COMMIT not yet sent
        assert release.wait(10)

    def commit_slowly() -> int:
        # On a connection of its own: the session writes its record, then the connection's
        # COMMIT (paused above) is a second round trip, with the lock held in between.
        with slow_engine.connect() as conn:
            return _commit_one(sessionmaker(bind=conn), "slow")

    try:
        slow, out_slow = _in_thread(commit_slowly)
        assert holding.wait(10)
        fast, out_fast = _in_thread(lambda: _commit_one(db.factory(), "fast"))
        assert until(lambda: _waiting_on_the_lock(db) == 1)
        assert fast.is_alive() and _waiting_on_the_lock(db) == 1
        assert _after_a_read(listener) == []
        release.set()
        slow.join(10)
        fast.join(10)
        assert not slow.is_alive() and not fast.is_alive()
        assert out_slow[0] < out_fast[0]
        assert _before_marker(db, listener) == [out_slow[0], out_fast[0]]
    finally:
        release.set()
        slow_engine.dispose()


def test_a_session_of_its_own_sends_its_changes_and_commit_together(db: OrderDB) -> None:
    """The app's sessions: the record and COMMIT go in one round trip, so a process that is slow
    to come back to the request after it (busy with others) holds nobody up."""
    slow_engine = make_engine(db.url)
    holding, release = threading.Event(), threading.Event()

    @event.listens_for(slow_engine, "commit")
    def _pause(conn: object) -> None:
        holding.set()
        assert release.wait(10)

    try:
        slow, out_slow = _in_thread(lambda: _commit_one(db.factory(slow_engine), "paused"))
        assert holding.wait(10)
        fast, out_fast = _in_thread(lambda: _commit_one(db.factory(), "unpaused"))
        fast.join(10)
        assert not fast.is_alive(), "the paused session still held the change-order lock"
        with db.engine.connect() as conn:
            ids = conn.execute(
                text(
                    "SELECT id FROM change_events WHERE payload->>'test' IN ('paused', 'unpaused')"
                )
            ).scalars()
            assert len(list(ids)) == 2  # the paused one had already committed
    finally:
        release.set()
        slow.join(10)
        slow_engine.dispose()
    assert out_slow[0] < out_fast[0]


def test_the_lock_is_held_only_while_committing(db: OrderDB) -> None:
    """A transaction that has made a change but not begun to commit blocks nobody."""
    factory = db.factory()
    with factory.begin() as slow:
        pending = emit_change(slow, "office.updated", "spp-krabi", {"test": "slow"})
        thread, out = _in_thread(lambda: _commit_one(factory, "other"))
        thread.join(10)
        assert not thread.is_alive(), "a transaction that was not committing held the lock"
    assert out[0] < pending.id


def test_changes_of_one_transaction_keep_their_order_and_ids(db: OrderDB) -> None:
    factory = db.factory()
    with factory.begin() as session:
        changes = [
            emit_change(session, "office.updated", code, {"n": n})
            for n, code in enumerate(("spp-krabi", "spm-krabi", "spp-krabi"))
        ]
    ids = [c.id for c in changes]
    assert ids == sorted(ids) and len(set(ids)) == 3
    with factory() as session:
        rows = session.execute(
            select(ChangeEvent.id, ChangeEvent.office_code, ChangeEvent.payload)
            .where(ChangeEvent.id.in_(ids))
            .order_by(ChangeEvent.id)
        ).all()
    assert [(r.office_code, r.payload["n"]) for r in rows] == [
        ("spp-krabi", 0),
        ("spm-krabi", 1),
        ("spp-krabi", 2),
    ]


def test_a_transaction_reads_its_own_changes(db: OrderDB) -> None:
    factory = db.factory()
    with factory() as session:
        before = session.scalar(select(ChangeEvent.id).order_by(ChangeEvent.id.desc()).limit(1))
        emit_change(session, "office.updated", "spp-krabi", {"test": "own"})
        mine = session.scalars(select(ChangeEvent).where(ChangeEvent.id > (before or 0))).all()
        assert [c.payload for c in mine] == [{"test": "own"}]
        session.rollback()


def test_rolled_back_changes_are_never_written(db: OrderDB, listener: Listening) -> None:
    factory = db.factory()
    with factory() as session:
        dropped = emit_change(session, "office.updated", "spp-krabi", {"test": "dropped"})
        session.rollback()
    with factory.begin() as session:
        session.execute(select(1))
        with session.begin_nested():
            kept = emit_change(session, "office.updated", "spp-krabi", {"test": "kept"})
        savepoint = session.begin_nested()
        undone = emit_change(session, "office.updated", "spp-krabi", {"test": "undone"})
        savepoint.rollback()
    with pytest.raises(ChangeRolledBack):
        dropped.id  # noqa: B018
    with pytest.raises(ChangeRolledBack):
        undone.id  # noqa: B018
    with factory() as session:  # before the marker below adds a row
        payloads = session.scalars(select(ChangeEvent.payload).where(ChangeEvent.id >= kept.id))
        assert list(payloads) == [{"test": "kept"}]
    assert _before_marker(db, listener) == [kept.id]
