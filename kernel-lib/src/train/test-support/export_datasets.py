"""Writes scikit-learn's small toy datasets as the trainers' test fixtures.

The tests read the JSON files in ``datasets/`` beside this script (through ``datasets.ts``) and
never run this script, so they do not depend on scikit-learn's bundled copies. Re-run it only to
regenerate the fixtures, from the repository root:

    .venv/bin/python kernel-lib/src/train/test-support/export_datasets.py

One file per dataset, ``<name>.json``::

    {"name", "task": "binary" | "multiclass" | "regression", "featureNames": [...],
     "targetName", "classes"?: [...], "targetNames"?: [...], "x": [[column 0 values], ...], "y": [...]}

``x`` is column-major. Every value is written with ``repr`` (shortest round-trip form), so
``JSON.parse`` recovers the exact float64; integral values are written as integers to keep the
files small.
"""

import json
import math
import pathlib

import numpy as np
from sklearn import datasets

OUT = pathlib.Path(__file__).resolve().parent / "datasets"

LOADERS = {
    "breast_cancer": (datasets.load_breast_cancer, "binary"),
    "digits": (datasets.load_digits, "multiclass"),
    "diabetes": (datasets.load_diabetes, "regression"),
    "wine": (datasets.load_wine, "multiclass"),
    "iris": (datasets.load_iris, "multiclass"),
}


def number(v: float) -> str:
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {v!r}: JSON cannot hold it")
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def array(values) -> str:
    return "[" + ",".join(number(v) for v in values) + "]"


def export(name: str) -> pathlib.Path:
    load, task = LOADERS[name]
    bunch = load()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.float64)
    feature_names = [str(f) for f in getattr(bunch, "feature_names", [])]
    if len(feature_names) != x.shape[1]:
        # digits has pixel names in newer releases; fall back to positional names otherwise.
        feature_names = [f"pixel_{j}" for j in range(x.shape[1])]
    head = {
        "name": name,
        "task": task,
        "featureNames": feature_names,
        "targetName": "target",
        "rows": int(x.shape[0]),
    }
    if task != "regression":
        head["classes"] = [int(c) for c in np.unique(y)]
        if getattr(bunch, "target_names", None) is not None:
            head["targetNames"] = [str(t) for t in bunch.target_names]
    parts = [json.dumps(head)[:-1]]
    parts.append(',"x":[\n' + ",\n".join(array(x[:, j]) for j in range(x.shape[1])) + "\n]")
    parts.append(',"y":' + array(y) + "}\n")
    path = OUT / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text("".join(parts))
    tmp.replace(path)
    # Round-trip check: what the tests will parse is exactly what scikit-learn returned.
    back = json.loads(path.read_text())
    assert np.array_equal(np.array(back["x"]).T, x) and np.array_equal(np.array(back["y"]), y), name
    return path


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for dataset in LOADERS:
        p = export(dataset)
        print(f"{p.name}: {p.stat().st_size} bytes")
