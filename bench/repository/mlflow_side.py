"""MLflow's side of bench/repository: the same runs in MLflow's tracking store (SQLite), the same
searches through MlflowClient.search_runs.

    python mlflow_side.py load    --data DIR   runs.jsonl -> DIR/mlflow/mlflow.db
    python mlflow_side.py search  --data DIR   the queries of queries.json
    python mlflow_side.py publish --data DIR   the 500-tree model of plinth.js model: log + register, then load

Loading writes MLflow's own tables in bulk (its per-run API calls would take hours for 100,000
runs); searching goes through MLflow's public client, as a user would. JSON lines on stdout.
"""

import argparse
import hashlib
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


def publish(a):
    """The ONNX graphs plinth.js model wrote (one per repetition, warm-up first; the same bytes
    Plinth publishes), each logged as an ONNX model in a new run of an experiment with a local
    artifact root and registered as a new version of one model (mlflow.onnx.log_model with
    registered_model_name), then each version loaded back the usual way
    (mlflow.pyfunc.load_model("models:/name/version"): resolved in the registry, its artifacts
    copied, an onnxruntime session made); the last one predicts check.json."""
    import mlflow
    import mlflow.onnx
    import mlflow.pyfunc
    import numpy as np
    import onnx

    uri = f"sqlite:///{db_path(a.data)}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model_dir = os.path.join(a.data, "model")
    info = json.load(open(os.path.join(model_dir, "info.json")))
    check = json.load(open(os.path.join(model_dir, "check.json")))
    exp = mlflow.get_experiment_by_name("bench_models")
    exp_id = (
        exp.experiment_id
        if exp
        else mlflow.create_experiment("bench_models", artifact_location=os.path.join(a.data, "mlflow", "models"))
    )
    name = f"bench_gbt500_{now_ms():x}"
    graphs = [os.path.join(model_dir, f"graph-{i}.onnx") for i in range(info["reps"] + 1)]
    publish_ms, versions = [], []
    t0 = now_ms()
    for i, path in enumerate(graphs):
        proto = onnx.load_model_from_string(open(path, "rb").read())
        with mlflow.start_run(experiment_id=exp_id):
            start = time.perf_counter()
            # Not as external data: the artifact keeps the bytes Plinth stores (checked below).
            mi = mlflow.onnx.log_model(proto, name="model", registered_model_name=name, save_as_external_data=False)
            ms = (time.perf_counter() - start) * 1000
        if i > 0:  # 0 is the warm-up
            publish_ms.append(ms)
        versions.append(mi.registered_model_version)
    t1 = now_ms()
    load_ms = []
    predictions = None
    for i, version in enumerate(versions):
        start = time.perf_counter()
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
        ms = (time.perf_counter() - start) * 1000
        if i > 0:
            load_ms.append(ms)
        if i == len(versions) - 1:
            out = model.predict({k: np.asarray(v, dtype=np.float32).reshape(-1, 1) for k, v in check.items()})
            predictions = [float(x) for x in np.asarray(out["probability"]).ravel()]
    t2 = now_ms()
    stored = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{versions[-1]}")
    digest = lambda f: hashlib.sha256(open(f, "rb").read()).hexdigest()  # noqa: E731
    same = digest(os.path.join(stored, "model.onnx")) == digest(graphs[-1])

    def stats(xs):
        return dict(calls=len(xs), p50_ms=percentile(xs, 50), p99_ms=percentile(xs, 99))

    common = dict(side="mlflow", version=mlflow.__version__, model=name)
    emit(phase="publish", **common, same_bytes=same, **stats(publish_ms), t0=t0, t1=t1)
    emit(phase="model-load", **common, **stats(load_ms), predictions=predictions, t0=t1, t1=t2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["load", "search", "publish"])
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    {"load": load, "search": search, "publish": publish}[a.phase](a)


if __name__ == "__main__":
    main()
