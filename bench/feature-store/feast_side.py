"""The Feast side of bench/feature-store: get_historical_features on Feast's local (file)
offline store over the same Parquet files, same TTL and the same created-timestamp tie-break.
Prints one JSON line like plinth.js. Feast's registry apply is setup, not timed."""
import argparse
import json
import os
import resource
import shutil
import time
from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig
from feast.infra.offline_stores.dask import DaskOfflineStoreConfig
from feast.types import Float64
from feast.value_type import ValueType

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--views", type=int, default=5)
p.add_argument("--ttl", type=int, default=30 * 86400)
p.add_argument("--out", help="write the joined rows here (Parquet) for the value comparison")
a = p.parse_args()

lake = os.path.join(os.path.abspath(a.data), "lake")
repo = os.path.join(os.path.abspath(a.data), "feast")
shutil.rmtree(repo, ignore_errors=True)
os.makedirs(repo)
store = FeatureStore(
    config=RepoConfig(
        project="bench",
        provider="local",
        registry=os.path.join(repo, "registry.db"),
        offline_store=DaskOfflineStoreConfig(),
        online_store={"type": "sqlite", "path": os.path.join(repo, "online.db")},
        entity_key_serialization_version=3,
        repo_path=repo,
    ),
)
user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
features = [f"f{i}" for i in range(10)]
views = [
    FeatureView(
        name=f"fv{v}",
        entities=[user],
        ttl=timedelta(seconds=a.ttl),
        schema=[Field(name=f, dtype=Float64) for f in features],
        source=FileSource(
            path=os.path.join(lake, f"fv{v}.parquet"),
            timestamp_field="ts",
            created_timestamp_column="created",
        ),
    )
    for v in range(a.views)
]
store.apply([user, *views])

t0 = time.perf_counter()
# Reading the label rows is part of the join on both sides.
labels = pd.read_parquet(os.path.join(lake, "labels.parquet"))
labels = labels.rename(columns={"ts": "event_timestamp"})
if labels["event_timestamp"].dt.tz is None:
    labels["event_timestamp"] = labels["event_timestamp"].dt.tz_localize("UTC")
job = store.get_historical_features(
    entity_df=labels,
    features=[f"fv{v}:{f}" for v in range(a.views) for f in features],
    full_feature_names=True,
)
df = job.to_df()
seconds = time.perf_counter() - t0
if a.out:
    df.to_parquet(a.out)
print(
    json.dumps(
        {
            "phase": "feast-join",
            "seconds": seconds,
            "rows": len(df),
            "maxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    ),
    flush=True,
)
