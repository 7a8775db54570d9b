"""The peer side of bench/training: LightGBM and scikit-learn on the data gen.js wrote.

    python peer.py PHASE --data DIR [options]

Phases (one per process, like plinth.js; each prints one JSON line on stdout, progress on
stderr): gbt, gbt-predict, rf, logistic, kmeans, and score, which scores the validation
predictions and k-means centroids that both sides wrote under DIR/out with the same
scikit-learn metrics, so metric implementations cannot differ between the sides.

Threads: LightGBM's num_threads, scikit-learn's n_jobs, and threadpoolctl's limit on every
native pool (OpenMP, BLAS) around each fit, so each side uses exactly --threads cores.
Memory: the peak resident set of this process during the fit (Linux's VmHWM, reset just
before the fit by writing 5 to /proc/self/clear_refs), as plinth.js measures it.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

FEATURES = 28


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def meta(data):
    with open(os.path.join(data, "meta.json")) as f:
        return json.load(f)


def load(data, start, end):
    """Rows [start, end) as a C-ordered float64 matrix (as Plinth gets float64 columns) and 0/1 labels."""
    m = meta(data)
    rows, n = m["rows"], end - start
    path = os.path.join(data, "data.f32")
    x = np.empty((n, FEATURES), dtype=np.float64)
    for j in range(FEATURES):
        x[:, j] = np.fromfile(path, dtype="<f4", count=n, offset=(j * rows + start) * 4)
    y = np.fromfile(path, dtype="<f4", count=n, offset=(FEATURES * rows + start) * 4).astype(np.float64)
    return x, y


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class Memory:
    """RSS before the measured step and the peak while it ran (MB)."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.reset = True
        except OSError:
            self.reset = False  # the peak then also covers loading the data
        self.before = status_kb("VmRSS")
        return self

    def __exit__(self, *exc):
        self.peak = status_kb("VmHWM") if self.reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return False

    def fields(self):
        return {
            "rss_before_mb": round(self.before / 1024, 1),
            "peak_rss_mb": round(self.peak / 1024, 1),
            "peak_reset": self.reset,
        }


def emit(**kw):
    print(json.dumps(kw), flush=True)


def now_ms():
    return int(time.time() * 1000)


def save_pred(a, name, p):
    os.makedirs(os.path.join(a.data, "out"), exist_ok=True)
    np.asarray(p, dtype="<f8").tofile(os.path.join(a.data, "out", f"{name}.f64"))


def standardise(x, mean, std):
    return (x - mean) / np.where(std > 0, std, 1.0)


def gbt(a):
    import lightgbm as lgb

    m = meta(a.data)
    x, y = load(a.data, 0, m["train"])
    xv, _ = load(a.data, m["train"], m["rows"])
    params = {
        "objective": "binary",
        "num_leaves": 31,
        "learning_rate": 0.1,
        "max_bin": 255,
        "min_data_in_leaf": 20,
        # Stated although they are LightGBM's defaults: plinth.js passes the same values.
        "bin_construct_sample_cnt": 200000,
        "min_sum_hessian_in_leaf": 1e-3,
        "lambda_l1": 0.0,
        "lambda_l2": 0.0,
        "min_gain_to_split": 0.0,
        "bagging_fraction": 1.0,
        "feature_fraction": 1.0,
        "num_threads": a.threads,
        "seed": a.seed,
        "deterministic": True,
        # LightGBM asks for a fixed histogram layout with `deterministic`; col-wise is the one
        # its own auto-choice picks on this data (at 1 and 2 threads), without the test's cost.
        "force_col_wise": True,
        "verbose": -1,
    }

    def progress(env):
        if (env.iteration + 1) % 10 == 0:
            log(f"  lightgbm: tree {env.iteration + 1}/{a.trees}")

    log(f"lightgbm: {len(y)} rows x {FEATURES}, {a.trees} trees, {a.threads} thread(s)")
    with threadpool_limits(limits=a.threads), Memory() as mem:
        t0 = now_ms()
        start = time.perf_counter()
        # Binning (Dataset construction) is part of the fit, as it is in fitGbt.
        booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=a.trees, callbacks=[progress])
        seconds = time.perf_counter() - start
        t1 = now_ms()
    with threadpool_limits(limits=a.threads):
        start = time.perf_counter()
        p = booster.predict(xv, num_threads=a.threads)
        predict_seconds = time.perf_counter() - start
    save_pred(a, f"gbt-lightgbm-t{a.threads}", p)
    booster.save_model(os.path.join(a.data, "out", f"gbt-lightgbm-t{a.threads}.txt"))
    emit(
        phase="gbt",
        side="lightgbm",
        version=lgb.__version__,
        threads=a.threads,
        rows=len(y),
        trees=booster.num_trees(),
        leaves=int(sum(t["num_leaves"] for t in booster.dump_model()["tree_info"])),
        seconds=seconds,
        predict_rows=len(xv),
        predict_seconds=predict_seconds,
        t0=t0,
        t1=t1,
        **mem.fields(),
    )


def gbt_predict(a):
    """Booster.predict on the training rows, the rows Plinth's ONNX phase scores."""
    import lightgbm as lgb

    m = meta(a.data)
    x, _ = load(a.data, 0, m["train"])
    booster = lgb.Booster(model_file=os.path.join(a.data, "out", f"gbt-lightgbm-t{a.model_threads}.txt"))
    booster.predict(x[:1000], num_threads=a.threads)  # warm-up
    with threadpool_limits(limits=a.threads):
        t0 = now_ms()
        start = time.perf_counter()
        booster.predict(x, num_threads=a.threads)
        seconds = time.perf_counter() - start
        t1 = now_ms()
    emit(
        phase="gbt-predict",
        side="lightgbm",
        threads=a.threads,
        rows=len(x),
        seconds=seconds,
        rows_per_s=len(x) / seconds,
        t0=t0,
        t1=t1,
    )


def rf(a):
    import sklearn
    from sklearn.ensemble import RandomForestClassifier

    m = meta(a.data)
    x, y = load(a.data, 0, a.rows)
    xv, _ = load(a.data, m["train"], m["rows"])
    model = RandomForestClassifier(
        n_estimators=a.trees, max_features="sqrt", n_jobs=a.threads, random_state=a.seed, verbose=0
    )
    log(f"scikit-learn RandomForestClassifier: {a.rows} rows x {FEATURES}, {a.trees} trees, {a.threads} thread(s)")
    with threadpool_limits(limits=a.threads), Memory() as mem:
        t0 = now_ms()
        start = time.perf_counter()
        model.fit(x, y)
        seconds = time.perf_counter() - start
        t1 = now_ms()
    with threadpool_limits(limits=a.threads):
        p = model.predict_proba(xv)[:, 1]
    save_pred(a, f"rf-sklearn-t{a.threads}", p)
    emit(
        phase="rf",
        side="sklearn",
        version=sklearn.__version__,
        threads=a.threads,
        rows=a.rows,
        trees=a.trees,
        nodes=int(sum(e.tree_.node_count for e in model.estimators_)),
        seconds=seconds,
        t0=t0,
        t1=t1,
        **mem.fields(),
    )


def logistic(a):
    import sklearn
    from sklearn.linear_model import LogisticRegression

    m = meta(a.data)
    x, y = load(a.data, 0, a.rows)
    xv, _ = load(a.data, m["train"], m["rows"])
    # Standardised with the training rows' mean and population standard deviation (both
    # sides alike, before the clock starts).
    mean, std = x.mean(axis=0), x.std(axis=0)
    x = standardise(x, mean, std)
    xv = standardise(xv, mean, std)
    model = LogisticRegression(C=1.0, tol=1e-4, max_iter=1000, solver="lbfgs")
    log(f"scikit-learn LogisticRegression(lbfgs): {a.rows} rows x {FEATURES}, 1 thread")
    with threadpool_limits(limits=1), Memory() as mem:
        t0 = now_ms()
        start = time.perf_counter()
        model.fit(x, y)
        seconds = time.perf_counter() - start
        t1 = now_ms()
    save_pred(a, "logistic-sklearn-t1", model.predict_proba(xv)[:, 1])
    emit(
        phase="logistic",
        side="sklearn",
        version=sklearn.__version__,
        threads=1,
        rows=a.rows,
        iterations=int(model.n_iter_[0]),
        seconds=seconds,
        t0=t0,
        t1=t1,
        **mem.fields(),
    )


def kmeans_rows(a):
    x, _ = load(a.data, 0, a.rows)
    return standardise(x, x.mean(axis=0), x.std(axis=0))


def kmeans(a):
    import sklearn
    from sklearn.cluster import KMeans

    x = kmeans_rows(a)
    model = KMeans(
        n_clusters=a.k, init="k-means++", n_init=a.n_init, max_iter=300, tol=1e-4, algorithm="lloyd", random_state=a.seed
    )
    log(f"scikit-learn KMeans(lloyd): {a.rows} rows x {FEATURES}, k={a.k}, n_init={a.n_init}, 1 thread")
    with threadpool_limits(limits=1), Memory() as mem:
        t0 = now_ms()
        start = time.perf_counter()
        model.fit(x)
        seconds = time.perf_counter() - start
        t1 = now_ms()
    os.makedirs(os.path.join(a.data, "out"), exist_ok=True)
    with open(os.path.join(a.data, "out", "kmeans-sklearn-t1.json"), "w") as f:
        json.dump({"centroids": model.cluster_centers_.tolist()}, f)
    emit(
        phase="kmeans",
        side="sklearn",
        version=sklearn.__version__,
        threads=1,
        rows=a.rows,
        k=a.k,
        n_init=a.n_init,
        iterations=int(model.n_iter_),
        inertia=float(model.inertia_),
        seconds=seconds,
        t0=t0,
        t1=t1,
        **mem.fields(),
    )


def score(a):
    """Every side's validation predictions and centroids, scored by the same code."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    m = meta(a.data)
    _, yv = load(a.data, m["train"], m["rows"])
    out = os.path.join(a.data, "out")
    for name in sorted(os.listdir(out)):
        if name.endswith(".f64"):
            p = np.fromfile(os.path.join(out, name), dtype="<f8")
            if len(p) != len(yv):
                emit(phase="score", name=name[:-4], error=f"{len(p)} predictions for {len(yv)} rows")
                continue
            emit(
                phase="score",
                name=name[:-4],
                auc=float(roc_auc_score(yv, p)),
                logloss=float(log_loss(yv, np.clip(p, 1e-15, 1 - 1e-15))),
                accuracy=float(accuracy_score(yv, p > 0.5)),
            )
    if a.rows:
        x = kmeans_rows(a)
        for name in sorted(os.listdir(out)):
            if name.startswith("kmeans-") and name.endswith(".json"):
                with open(os.path.join(out, name)) as f:
                    c = np.asarray(json.load(f)["centroids"], dtype=np.float64)
                # Squared distance to the nearest centroid, summed: scikit-learn's inertia.
                d = (x * x).sum(axis=1)[:, None] - 2 * x @ c.T + (c * c).sum(axis=1)[None, :]
                emit(phase="score", name=name[:-5], inertia=float(np.maximum(d.min(axis=1), 0).sum()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["gbt", "gbt-predict", "rf", "logistic", "kmeans", "score"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model-threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--n-init", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    {"gbt": gbt, "gbt-predict": gbt_predict, "rf": rf, "logistic": logistic, "kmeans": kmeans, "score": score}[
        a.phase
    ](a)


if __name__ == "__main__":
    main()
