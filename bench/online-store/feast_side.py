"""The Feast side of bench/online-store. Prints one JSON line per phase, like plinth.js.

  python feast_side.py setup  --data DIR --redis HOST:PORT   feature repo (file source over the same
                                                             Parquet, Redis online store), apply, materialize
  python feast_side.py direct --data DIR --ids FILE          in-process store.get_online_features latency

`feast serve` (started by run.sh) then serves DIR/feast, the repository written here."""
import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone

p = argparse.ArgumentParser()
p.add_argument("phase", choices=["setup", "direct"])
p.add_argument("--data", required=True)
p.add_argument("--redis", help="host:port of the redis-server Plinth uses too")
p.add_argument("--ids", help="JSON {'1': [[id], ...], '100': [[id x 100], ...]} written by shared.js")
p.add_argument("--seconds", type=float, default=10, help="time spent per request size (direct)")
a = p.parse_args()

from feast import Entity, FeatureStore, FeatureView, Field, FileSource  # noqa: E402 (after argparse: --help is fast)
from feast.types import Float64  # noqa: E402
from feast.value_type import ValueType  # noqa: E402

VIEW = "user_stats"
FEATURES = [f"f{i}" for i in range(50)]
REFS = [f"{VIEW}:{f}" for f in FEATURES]
data = os.path.abspath(a.data)
repo = os.path.join(data, "feast")


def emit(obj):
    print(json.dumps(obj), flush=True)


def setup():
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    with open(os.path.join(repo, "feature_store.yaml"), "w") as f:
        f.write(
            "project: bench\n"
            "provider: local\n"
            f"registry: {os.path.join(repo, 'registry.db')}\n"
            "offline_store:\n  type: file\n"
            f"online_store:\n  type: redis\n  connection_string: {a.redis}\n"
            "entity_key_serialization_version: 3\n"
        )
    store = FeatureStore(repo_path=repo)
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name=VIEW,
        entities=[user],
        ttl=timedelta(0),  # no TTL, as on the Plinth side
        schema=[Field(name=f, dtype=Float64) for f in FEATURES],
        online=True,
        source=FileSource(path=os.path.join(data, "lake", "users.parquet"), timestamp_field="event_timestamp"),
    )
    store.apply([user, view])
    t0 = time.perf_counter()
    # Every event time of the data lies in January 2026. Feast's progress output goes to stderr:
    # stdout carries the JSON lines.
    with contextlib.redirect_stdout(sys.stderr):
        store.materialize(
            start_date=datetime(2025, 12, 1, tzinfo=timezone.utc),
            end_date=datetime(2026, 3, 1, tzinfo=timezone.utc),
        )
    emit({"phase": "feast-setup", "seconds": time.perf_counter() - t0, "repo": repo})


def pct(sorted_us, q):
    return sorted_us[min(len(sorted_us) - 1, int(q * len(sorted_us)))]


def direct():
    store = FeatureStore(repo_path=repo)
    with open(a.ids) as f:
        ids = json.load(f)
    for per, lists in sorted(ids.items(), key=lambda kv: int(kv[0])):
        rows = [[{"user_id": i} for i in lst] for lst in lists]
        # Warm-up: registry, connection pool, first-call caches.
        for r in rows[:50]:
            store.get_online_features(features=REFS, entity_rows=r).to_dict()
        lat = []
        started = time.time()
        t_end = time.perf_counter() + a.seconds
        n = 0
        while time.perf_counter() < t_end:
            r = rows[n % len(rows)]
            t0 = time.perf_counter_ns()
            out = store.get_online_features(features=REFS, entity_rows=r).to_dict()
            lat.append((time.perf_counter_ns() - t0) / 1000)
            n += 1
        assert len(out["f0"]) == int(per) and out["f0"][0] is not None, "Feast returned no values"
        lat.sort()
        total_s = sum(lat) / 1e6
        emit(
            {
                "phase": "direct",
                "side": "feast",
                "store": "redis",
                "api": "FeatureStore.get_online_features().to_dict()",
                "entities": int(per),
                "calls": len(lat),
                "t0": round(started * 1000),
                "t1": round(time.time() * 1000),
                "p50_us": pct(lat, 0.5),
                "p99_us": pct(lat, 0.99),
                "entities_per_s": round(len(lat) * int(per) / total_s),
            }
        )


{"setup": setup, "direct": direct}[a.phase]()
