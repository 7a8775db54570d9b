"""Reference computations on the peer's side of bench/feature-store, in its venv:
  compare  --plinth P --feast F : joined feature values of the rows both outputs have
  describe --data DIR           : pandas describe() over the statistics rows (a reference time)"""
import json
import resource
import sys
import time

import numpy as np
import pandas as pd

mode = sys.argv[1]
args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
if mode == "compare":
    p = pd.read_parquet(args["--plinth"]).rename(columns={"ts": "event_timestamp"})
    f = pd.read_parquet(args["--feast"])
    for d in (p, f):
        t = pd.to_datetime(d["event_timestamp"])
        d["event_timestamp"] = t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t
    p["event_timestamp"] = p["event_timestamp"].astype("datetime64[us]")
    f["event_timestamp"] = f["event_timestamp"].astype("datetime64[us]")
    # Label rows are (user, time); the rare duplicates are dropped from both sides.
    key = ["user_id", "event_timestamp"]
    p = p.drop_duplicates(key, keep=False)
    f = f.drop_duplicates(key, keep=False)
    m = p.merge(f, on=key, suffixes=("_p", "_f"))
    cols = [c for c in f.columns if "__" in c]
    mismatched = 0
    for c in cols:
        a, b = m[f"{c}_p"].to_numpy(dtype=float), m[f"{c}_f"].to_numpy(dtype=float)
        mismatched += int((~(np.isclose(a, b) | (np.isnan(a) & np.isnan(b)))).sum())
    print(json.dumps({"phase": "compare", "plinthRows": len(p), "feastRows": len(f), "commonRows": len(m),
                      "valuesCompared": len(m) * len(cols), "mismatchedValues": mismatched}), flush=True)
elif mode == "describe":
    t0 = time.perf_counter()
    df = pd.read_parquet(f"{args['--data']}/stats.parquet")
    df.describe(include="all")
    df.isna().sum()
    df.nunique()
    print(json.dumps({"phase": "pandas-describe", "rows": len(df), "seconds": time.perf_counter() - t0,
                      "maxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)
