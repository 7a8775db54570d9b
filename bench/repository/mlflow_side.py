"""MLflow's side of bench/repository: the same runs in MLflow's tracking store (SQLite), the same
searches through MlflowClient.search_runs.

    python mlflow_side.py load   --data DIR   runs.jsonl -> DIR/mlflow/mlflow.db
    python mlflow_side.py search --data DIR   the queries of queries.json

Loading writes MLflow's own tables in bulk (its per-run API calls would take hours for 100,000
runs); searching goes through MLflow's public client, as a user would. JSON lines on stdout.
"""

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def emit(**o):
    print(json.dumps(o), flush=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def now_ms():
    return int(time.time() * 1000)


def db_path(data):
    return os.path.join(data, "mlflow", "mlflow.db")


def client(data):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{db_path(data)}")


def load(a):
    shutil.rmtree(os.path.join(a.data, "mlflow"), ignore_errors=True)
    os.makedirs(os.path.join(a.data, "mlflow", "artifacts"))
    t0 = time.perf_counter()
    c = client(a.data)  # creates MLflow's schema (alembic migrations)
    ids = {}
    for i in range(10):
        ids[f"exp_{i}"] = c.create_experiment(f"exp_{i}", artifact_location=os.path.join(a.data, "mlflow", "artifacts"))
    con = sqlite3.connect(db_path(a.data))
    runs, params, tags, metrics, latest = [], [], [], [], []
    done = 0

    def flush():
        con.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
            "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
            "VALUES (?, ?, 'LOCAL', '', '', ?, ?, ?, ?, '', 'active', '', ?)",
            runs,
        )
        con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", params)
        con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tags)
        con.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)", metrics
        )
        con.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?)",
            latest,
        )
        con.commit()
        for lst in (runs, params, tags, metrics, latest):
            lst.clear()

    with open(os.path.join(a.data, "runs.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            rid = r["id"].replace("-", "")
            end = None if r["status"] == "RUNNING" else r["start"] + 600_000
            runs.append((rid, r["name"], r["tags"]["user"], r["status"], r["start"], end, ids[r["experiment"]]))
            params.extend((k, v, rid) for k, v in r["params"].items())
            tags.extend((k, v, rid) for k, v in r["tags"].items())
            tags.append(("mlflow.runName", r["name"], rid))
            for k, v in r["metrics"].items():
                metrics.append((k, v, r["start"] + 600_000, rid, 0))
                latest.append((k, v, r["start"] + 600_000, 0, rid))
            for step, v in enumerate(r["loss"]):
                metrics.append(("loss", v, r["start"] + step * 60_000, rid, step))
            latest.append(("loss", r["loss"][9], r["start"] + 9 * 60_000, 9, rid))
            done += 1
            if done % 2000 == 0:
                flush()
            if done % 10000 == 0:
                log(f"  mlflow: {done} runs loaded")
    flush()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    emit(phase="load", side="mlflow", runs=done, seconds=time.perf_counter() - t0)


def percentile(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, -(-p * len(s) // 100) - 1))]


def search(a):
    import mlflow

    spec = json.load(open(os.path.join(HERE, "queries.json")))
    c = client(a.data)
    experiments = [c.get_experiment_by_name(f"exp_{i}").experiment_id for i in range(10)]
    calls = [
        (qi, q["filter"].replace("{t}", t), q["orderBy"]) for qi, q in enumerate(spec["queries"]) for t in q["t"]
    ]

    def run(filt, order):
        return c.search_runs(experiments, filter_string=filt, order_by=order, max_results=spec["maxResults"])

    for qi, filt, order in calls:  # warm-up: one of each
        run(filt, order)
    times = [[] for _ in spec["queries"]]
    answers = {}
    t0 = now_ms()
    for rep in range(spec["repeat"]):
        for qi, filt, order in calls:
            start = time.perf_counter()
            items = run(filt, order)
            times[qi].append((time.perf_counter() - start) * 1000)
            if rep == 0:
                answers[f"{filt} | {','.join(order)}"] = [
                    f"{x.info.run_id[:8]}-{x.info.run_id[8:12]}-{x.info.run_id[12:16]}-{x.info.run_id[16:20]}-{x.info.run_id[20:]}"
                    for x in items
                ]
    t1 = now_ms()
    for qi, q in enumerate(spec["queries"]):
        emit(
            phase="search",
            side="mlflow",
            version=mlflow.__version__,
            query=q["name"],
            calls=len(times[qi]),
            p50_ms=percentile(times[qi], 50),
            p99_ms=percentile(times[qi], 99),
            t0=t0,
            t1=t1,
        )
    flat = [x for ts in times for x in ts]
    emit(
        phase="search-all",
        side="mlflow",
        version=mlflow.__version__,
        calls=len(flat),
        p50_ms=percentile(flat, 50),
        p99_ms=percentile(flat, 99),
        t0=t0,
        t1=t1,
    )
    with open(os.path.join(a.data, "answers-mlflow.json"), "w") as f:
        json.dump(answers, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["load", "search"])
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    {"load": load, "search": search}[a.phase](a)


if __name__ == "__main__":
    main()
