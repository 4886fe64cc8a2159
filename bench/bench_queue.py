"""The reviewer queue at 100,000 suggestions: the queue page and the case page served by `dwcoder serve`'s app
(a real uvicorn on a loopback port, signed in through /login), on SQLite and on PostgreSQL.

The database gets 33,334 review cases x 3 lines (tests/review/synthetic.py, written as the pipeline's
recomputation writes them) plus the contract's implant example sent through the pipeline (a case page with
real evidence: DICOM, FHIR). Each page is fetched `--repeat` times after one warm-up; p50 / p95 / max in ms.
Target: under 300 ms. The tables are ANALYZEd after the bulk load (as autovacuum does in production: without
statistics PostgreSQL plans the filtered queue badly on a freshly loaded table).

    queue first page          GET /review
    queue deep page           GET /review?after=<cursor of case 30,000>
    queue filtered            GET /review?code=D0393&notice=documentation-required
    case page (synthetic)     GET /review/cases/<id>
    case page (example)       GET /review/cases/<id> (evidence read back, DICOM headers parsed)

Run: `.venv/bin/python bench/bench_queue.py [--suggestions 100000] [--repeat 30] [--only sqlite|postgresql]`
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from plugin.store.review import ReviewCase  # noqa: E402
from plugin.web.auth.users import add_user  # noqa: E402
from tests.review import scenario as sc  # noqa: E402
from tests.review.synthetic import fill  # noqa: E402
from tests.web.review.served import serve  # noqa: E402

PG_SERVER = os.environ.get("DWCODER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "bench password 123"
TOKEN = re.compile(r"name=csrf_token value='([^']+)'")


def run(kind: str, suggestions: int, repeat: int, tmp: Path) -> dict[str, tuple[float, float, float]]:
    name = f"dwcoder_bench_{uuid.uuid4().hex[:10]}"
    if kind == "postgresql":
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        return _measure(url, suggestions, repeat, tmp)
    finally:
        if kind == "postgresql":
            from plugin.pipeline import _CONTEXT

            for ctx in list(_CONTEXT.values()):
                ctx.store.dispose()
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _measure(url: str, suggestions: int, repeat: int, tmp: Path) -> dict[str, tuple[float, float, float]]:
    ctx = sc.make_ctx(url, tmp)
    started = time.perf_counter()
    ids = fill(ctx.store, suggestions // 3, sc.PRACTICE, lines_per_case=3)
    sc.send_case(ctx)
    with ctx.store.engine.connect() as conn:   # as autovacuum / a nightly ANALYZE would after such a load
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(f"  filled {len(ids):,} cases x 3 lines in {time.perf_counter() - started:.1f} s", flush=True)
    with ctx.store.sessions() as s:
        example = s.scalar(select(ReviewCase.id).where(ReviewCase.coded_case == "Encounter/implant-posterior-mandible-enc"))
        deep = s.get(ReviewCase, ids[min(len(ids) - 1, 30000)])
        cursor = f"{deep.first_at.isoformat()}~{deep.id}"
    add_user(ctx.store, "bench", PASSWORD, "reviewer", sc.PRACTICE)
    pages = {"queue first page": "/review", "queue deep page": "/review?" + httpx.QueryParams({"after": cursor}).__str__(),
             "queue filtered": "/review?code=D0393&notice=documentation-required",
             "case page (synthetic)": f"/review/cases/{ids[len(ids) // 2]}", "case page (example)": f"/review/cases/{example}"}
    out = {}
    with serve(ctx.settings, ctx.store) as base, httpx.Client(base_url=base, timeout=30) as http:
        login = http.get("/login", params={"next": "/review"})
        token = TOKEN.search(login.text).group(1)
        assert http.post("/login", data={"csrf_token": token, "next": "/review", "username": "bench",
                                         "password": PASSWORD}).status_code == 303
        for label, path in pages.items():
            first = http.get(path)
            assert first.status_code == 200, (label, first.status_code)
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                answer = http.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert answer.status_code == 200
            times.sort()
            out[label] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1])
    ctx.store.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suggestions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    for kind in ([args.only] if args.only else ["sqlite", "postgresql"]):
        print(f"{kind}: {args.suggestions:,} suggestions", flush=True)
        with tempfile.TemporaryDirectory(prefix="dwcoder-bench-queue-") as tmp:
            results = run(kind, args.suggestions, args.repeat, Path(tmp))
        for label, (p50, p95, top) in results.items():
            flag = "ok" if p95 < 300 else "OVER 300 ms"
            print(f"  {label:24s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {top:7.1f} ms   {flag}", flush=True)


if __name__ == "__main__":
    main()
