#!/usr/bin/env bash
# bench/feature-store: Plinth's point-in-time join, online push and statistics, side by side
# with Feast's local (dask/file) offline store on the same Parquet data.
#
#   npm run bench:feature-store                 # the issue's sizes (about 10 minutes)
#   npm run bench:feature-store -- --scale smoke  # a quick check of the whole path
#
# Writes bench/results/feature-store.json and .md. Data goes to bench/.data (gitignored).
source "$(dirname "$0")/../common.sh"
case "$scale" in
  # peer: the size both sides run; full: the issue's size, Plinth only (see the results note).
  smoke) peer=(--labels 100000 --entities 10000 --rows 50000); full=(--labels 300000 --entities 10000 --rows 100000); push=200000 ;;
  full) peer=(--labels 1000000 --entities 100000 --rows 500000); full=(--labels 10000000 --entities 100000 --rows 2000000); push=2000000 ;;
  *) echo "unknown scale $scale (smoke or full)" >&2; exit 2 ;;
esac

venv="$root/bench/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import feast' 2>/dev/null; then
  echo "== installing the peer (Feast) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
echo "== building Plinth"
(cd "$root" && npx tsc -b server)

data="$root/bench/.data"
out="$data/$scale.jsonl"
mkdir -p "$data"
: > "$out"
step() { echo "== $1" >&2; shift; "$@" | tee -a "$out"; }

step "peer size: generating the lake" node "$here/plinth.js" gen --data "$data/peer" "${peer[@]}"
step "peer size: Plinth apply + materialize" node "$here/plinth.js" setup --data "$data/peer"
step "peer size: Plinth point-in-time join" node "$here/plinth.js" join --data "$data/peer"
step "peer size: Feast get_historical_features" "$venv/bin/python" "$here/feast_side.py" --data "$data/peer" --out "$data/peer/feast-out.parquet"
plinth_out="$(tail -n 3 "$out" | grep '"phase":"join"' | sed 's/.*"files":\["file:\/\/\([^"]*\)".*/\1/')"
step "peer size: comparing joined values" "$venv/bin/python" "$here/compare_and_describe.py" compare --plinth "$plinth_out" --feast "$data/peer/feast-out.parquet"

step "full size: generating the lake" node "$here/plinth.js" gen --data "$data/full" "${full[@]}"
step "full size: Plinth apply + materialize" node "$here/plinth.js" setup --data "$data/full"
step "full size: Plinth point-in-time join" node "$here/plinth.js" join --data "$data/full"
step "online push into LMDB ($push entities)" node "$here/plinth.js" push --data "$data/full" --rows "$push"
step "statistics over ${full[1]} rows" node "$here/plinth.js" stats --data "$data/full" --rows "${full[1]}"
step "reference: pandas describe on the same rows" "$venv/bin/python" "$here/compare_and_describe.py" describe --data "$data/full"

node "$here/report.js" "$out" "$scale" "$root/bench/results"
