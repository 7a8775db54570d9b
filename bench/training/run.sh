#!/usr/bin/env bash
# bench/training: Plinth's TypeScript trainers (kernel-lib/src/train) against LightGBM and
# scikit-learn, in the same run, on the same data, with the same threads and parameters:
# gradient-boosted trees (vs LightGBM) at 1 thread and at nproc threads, random forest, logistic
# regression and k-means (vs scikit-learn), and the exported GBT's ONNX inference in
# onnxruntime-node against the TypeScript predictor.
#
#   npm run bench:training                    # the issue's size (1M training rows; about 15 minutes)
#   npm run bench:training -- --scale smoke   # a quick check of the whole path (100k rows; about 4 minutes)
#
# Writes bench/results/training.json and .md. Data (gen.js: a synthetic, Higgs-like set) goes
# to bench/.data/training (gitignored) and is written once per scale. Every measurement runs in
# its own process, one at a time; no servers.
source "$(dirname "$0")/../common.sh"
case "$scale" in
  # training rows; validation rows; random-forest rows; logistic-regression rows; k-means rows
  smoke) train=100000; valid=20000; rf_rows=20000; lr_rows=100000; km_rows=50000; limit=1800 ;;
  full) train=1000000; valid=100000; rf_rows=100000; lr_rows=1000000; km_rows=200000; limit=3600 ;;
esac
cpus="$(nproc)"
# GBT at 1 thread and at every core; the other trainers at every core where they take a thread
# count (random forest), else 1 (logistic regression and k-means take none on Plinth's side).
gbt_threads=(1)
[ "$cpus" -gt 1 ] && gbt_threads+=("$cpus")

venv="$root/bench/.venv"
# The venv is shared with the other benches: this adds the pinned peers to it (only additions to
# what they install), and is a quick no-op once they are there, whichever bench created it.
echo "== installing the peers (LightGBM, scikit-learn) into $venv if missing" >&2
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
py="$venv/bin/python"
echo "== building Plinth (schema, kernel-lib)" >&2
(cd "$root" && npm run -s build -w @plinth/schema && npx tsc -b kernel-lib) >&2

data="$root/bench/.data/training/$scale"
out="$root/bench/.data/training/$scale.jsonl"
mkdir -p "$data"
rm -rf "$data/out"
: > "$out"
step() { echo "== $1" >&2; shift; "$@" | tee -a "$out"; }
# Plinth's steps report a missing trainer or a failure as a result line (plinth.js); should the
# process itself die (a crash, out of memory), that is recorded too and the run goes on.
pstep() { # description, phase, args...
  local what="$1" phase="$2"; shift 2
  echo "== $what" >&2
  local rc=0
  node --expose-gc "$here/plinth.js" "$phase" --data "$data" "$@" | tee -a "$out" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "{\"phase\":\"$phase\",\"side\":\"plinth\",\"available\":false,\"error\":\"plinth.js $phase $* exited with $rc\"}" | tee -a "$out"
  fi
}
# What else keeps the machine busy meanwhile (report.js marks the measurements it disturbed).
monitor="${out%.jsonl}.monitor.jsonl"
: > "$monitor"
monitor_pid=
timeout "$limit" node "$root/bench/monitor.js" --root $$ --seconds "$limit" > "$monitor" &
monitor_pid=$!
stop_monitor() { [ -z "$monitor_pid" ] || { kill -TERM "$monitor_pid" 2>/dev/null || true; wait "$monitor_pid" 2>/dev/null || true; }; }
trap stop_monitor EXIT

step "generating $train + $valid rows x 28 features (gen.js, written once per scale)" \
  node "$here/gen.js" --out "$data" --train "$train" --valid "$valid"
version() { "$py" -c "import $1; print($1.__version__)"; }
ort="$(node -p "require('$root/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || echo unknown)"
echo "{\"phase\":\"env\",\"scale\":\"$scale\",\"cpus\":$cpus,\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\",\"memory_gb\":$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo),\"node\":\"$(node --version)\",\"python\":\"$("$py" --version)\",\"lightgbm\":\"$(version lightgbm)\",\"sklearn\":\"$(version sklearn)\",\"numpy\":\"$(version numpy)\",\"onnxruntime_node\":\"$ort\",\"gbt_threads\":[$(IFS=,; echo "${gbt_threads[*]}")],\"rf_rows\":$rf_rows,\"lr_rows\":$lr_rows,\"km_rows\":$km_rows}" >> "$out"

for t in "${gbt_threads[@]}"; do
  step "GBT: LightGBM, $train rows, $t thread(s)" "$py" "$here/peer.py" gbt --data "$data" --threads "$t"
  pstep "GBT: Plinth fitGbt, $train rows, $t thread(s)" gbt --threads "$t"
done
step "random forest: scikit-learn, $rf_rows rows, $cpus thread(s)" "$py" "$here/peer.py" rf --data "$data" --rows "$rf_rows" --threads "$cpus"
pstep "random forest: Plinth fitRandomForest, $rf_rows rows, $cpus thread(s)" rf --rows "$rf_rows" --threads "$cpus"
step "logistic regression: scikit-learn (lbfgs), $lr_rows rows" "$py" "$here/peer.py" logistic --data "$data" --rows "$lr_rows"
pstep "logistic regression: Plinth fitLogisticRegression, $lr_rows rows" logistic --rows "$lr_rows"
step "k-means: scikit-learn (lloyd), $km_rows rows, k=8" "$py" "$here/peer.py" kmeans --data "$data" --rows "$km_rows"
pstep "k-means: Plinth fitKMeans (lloyd), $km_rows rows, k=8" kmeans --rows "$km_rows"

# Inference of the GBT fitted with every core: ONNX in onnxruntime-node and the TypeScript
# predictor on the training rows; LightGBM's own predict on its model as a reference.
pstep "GBT inference: Plinth ONNX (onnxruntime-node) and predictTreeEnsemble, $train rows" \
  onnx --model-threads "$cpus" --ort-threads "$cpus"
for t in "${gbt_threads[@]}"; do
  step "GBT inference: LightGBM Booster.predict, $train rows, $t thread(s)" \
    "$py" "$here/peer.py" gbt-predict --data "$data" --threads "$t" --model-threads "$cpus"
done
step "scoring every side's validation predictions and centroids (scikit-learn metrics)" \
  "$py" "$here/peer.py" score --data "$data" --rows "$km_rows"
stop_monitor

node "$here/report.js" "$out" "$scale" "$root/bench/results" "$monitor"
