"""What one signed-in request costs the app: SQL queries and time per request, for pages under
/portal/offices/<code>/ (a cookie session) and API calls with a bearer token.

A throwaway PostGIS cluster is set up by `pinmap setup` as `make run` does (bench/load.py). Each
request goes through the WSGI app in this process (Flask's test client: no network, no server),
as an office director signed in with a session cookie, or with the director's API token. The
baseline, measured in the same run, is the loading before this change, put back for the
baseline's requests only: the office of the address loaded with its covered provinces (a second
query), and a token's user loaded by a query of its own. Rounds alternate baseline and current so
that the shared machine's load falls on both alike. Printed per address: queries per request and
the median time per request, each with the current/baseline ratio. Results go to
bench/out/request_queries.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
# Last, so bench/ingest.py never shadows the ingest package: bench/load imports bench/_root.
sys.path.append(str(HERE))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import bench.live_fanout  # noqa: E402, F401  (first, while bench/ is on sys.path: it imports _root)
from bench.load import setup_database  # noqa: E402
from pinmap import create_app, security  # noqa: E402
from pinmap.models import ApiToken, Office  # noqa: E402
from pinmap.services import accounts, offices  # noqa: E402
from pinmap.services.audit import Actor, utcnow  # noqa: E402
from pinmap.services.errors import N_  # noqa: E402
from pinmap.services.lookups import first_or_404  # noqa: E402

OUT = ROOT / "bench" / "out" / "request_queries.json"
PAGES = ("projects", "best-practices", "assignments", "profile", "coaching")
API = (
    "/api/v1/portal/offices/{code}/entries?fiscal_year=2567",
    "/api/v1/offices/{code}/projects?fiscal_year=2567",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=6, help="alternating baseline/current rounds")
    p.add_argument("--requests", type=int, default=15, help="requests per address and round")
    return p.parse_args(argv)


# --- the baseline: the loading before this change ----------------------------------------------


def _office_or_404_before(session: Session, code: str) -> Office:
    # Office.covered is lazy="selectin": loaded with the office, by a second query.
    stmt = select(Office).filter_by(code=code)
    return first_or_404(session, stmt, N_("No office with code %(code)s."), code=code)


def _token_for_secret_before(session: Session, secret: str, now: Any) -> ApiToken | None:
    if not secret.startswith(accounts.TOKEN_PREFIX):
        return None
    token = session.scalars(
        select(ApiToken).filter_by(token_sha256=accounts._token_hash(secret))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:  # the user, by a query of its own
        return None
    token.last_used_at = now
    return token


@contextmanager
def baseline() -> Iterator[None]:
    saved = (offices.office_or_404, accounts.office_or_404, security.token_for_secret)
    offices.office_or_404 = _office_or_404_before
    accounts.office_or_404 = _office_or_404_before
    security.token_for_secret = _token_for_secret_before
    try:
        yield
    finally:
        offices.office_or_404, accounts.office_or_404, security.token_for_secret = saved


@contextmanager
def current() -> Iterator[None]:
    yield


# --- the run -------------------------------------------------------------------------------------


def seed(factory: Callable[[], Session]) -> tuple[str, str, int]:
    """An office director of the first office, and an API token of theirs."""
    with factory() as session:
        code = session.scalars(select(Office.code).order_by(Office.code)).first()
        assert code is not None
        user = accounts.create_user(
            session,
            Actor(None),
            email="director@bench.go.th",
            name="director",
            password="bench password 1",  # noqa: S106 (a throwaway account)
            role="office_director",
            office_code=code,
        )
        token = accounts.create_token(session, Actor(None), user, "bench")
        session.commit()
        return code, token.secret, user.id


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pinmap-bench-rq-") as tmp:
        cluster, url = setup_database(Path(tmp))
        try:
            results = run(url, args.rounds, args.requests)
        finally:
            cluster.stop()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    print(f"results in {OUT.relative_to(ROOT)}")


def run(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    app = create_app({"SQLALCHEMY_URL": url, "SECRET_KEY": "bench", "PINMAP_API_CACHE": False})
    factory = app.extensions["pinmap"]["session_factory"]
    engine = factory.kw["bind"]
    code, secret, user_id = seed(factory)
    queries = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_a: Any) -> None:
        queries[0] += 1

    page = app.test_client()
    with factory() as session:
        user = session.get(accounts.User, user_id)
        assert user is not None
        key = accounts.start_session(session, user, "127.0.0.1")
        session.commit()
    with page.session_transaction() as s:
        s["_user_id"] = key
        s["_fresh"] = True
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    targets: list[tuple[str, Callable[[], Any]]] = [
        (f"/portal/offices/{code}/{p}", lambda p=p: page.get(f"/portal/offices/{code}/{p}"))
        for p in PAGES
    ] + [
        (a.format(code=code), lambda a=a: api.get(a.format(code=code), headers=bearer)) for a in API
    ]
    samples: dict[str, dict[str, list[float]]] = {
        label: {"baseline_ms": [], "current_ms": [], "baseline_q": [], "current_q": []}
        for label, _ in targets
    }
    for label, get in targets:  # warm: templates compiled, statements cached
        r = get()
        assert r.status_code == 200, (label, r.status_code, r.get_data(as_text=True)[:300])
    for n in range(rounds):
        for name, mode in (
            (("baseline", baseline), ("current", current))
            if n % 2 == 0
            else (
                ("current", current),
                ("baseline", baseline),
            )
        ):
            with mode():
                for label, get in targets:
                    for _ in range(per_round):
                        q0, t0 = queries[0], time.perf_counter()
                        r = get()
                        samples[label][f"{name}_ms"].append((time.perf_counter() - t0) * 1000)
                        samples[label][f"{name}_q"].append(queries[0] - q0)
                        assert r.status_code == 200, (label, name, r.status_code)
    print(f"{'address':58} {'queries base→now':>17} {'ms base→now (median)':>24} {'ratio':>6}")
    out: dict[str, Any] = {"when": utcnow().isoformat(), "addresses": {}}
    for label, s in samples.items():
        bq, cq = statistics.mean(s["baseline_q"]), statistics.mean(s["current_q"])
        bm, cm = statistics.median(s["baseline_ms"]), statistics.median(s["current_ms"])
        print(f"{label:58} {bq:7.1f} → {cq:5.1f} {bm:12.2f} → {cm:7.2f} {cm / bm:6.2f}")
        out["addresses"][label] = {
            "queries": {"baseline": bq, "current": cq},
            "median_ms": {"baseline": bm, "current": cm},
            "ratio": cm / bm,
        }
    total_b = sum(statistics.median(s["baseline_ms"]) for s in samples.values())
    total_c = sum(statistics.median(s["current_ms"]) for s in samples.values())
    print(
        f"all addresses: {total_c:.1f} ms against {total_b:.1f} ms, ratio {total_c / total_b:.2f}"
    )
    out["ratio_all"] = total_c / total_b
    return out


if __name__ == "__main__":
    main()
