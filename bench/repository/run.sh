#!/usr/bin/env bash
# bench/repository: run search over many tracked runs on the embedded store (PGlite), in process
# and through the control plane's HTTP route (POST /api/v1/runs/search), side by side with
# MLflow's tracking store (SQLite, MlflowClient.search_runs; installed into bench/.venv) on the
# same runs and the same queries. Then publish and load time for a 500-tree GBT (kernel-lib's
# train(), compiled to ONNX): published through the same control plane and loaded with
# kernel-lib's loadPipeline, side by side with MLflow logging the same ONNX bytes, registering
# them (mlflow.onnx.log_model) and loading them (mlflow.pyfunc.load_model).
#
#   npm run bench:repository                    # 100,000 runs, 20 publishes and loads (about 20 minutes)
#   npm run bench:repository -- --scale smoke   # 10,000 runs, 5 publishes and loads (about 4 minutes)
#
# Writes bench/results/repository.json and .md. The runs (gen.js) and the model (plinth.js model)
# go to bench/.data/repository (gitignored), made once per scale; the queries are in queries.json.
source "$(dirname "$0")/../common.sh"
case "$scale" in
  smoke) runs=10000; limit=1200; reps=5; model_rows=5000 ;;
  full) runs=100000; limit=3600; reps=20; model_rows=20000 ;;
esac
venv="$root/bench/.venv"
echo "== installing the peer (MLflow) into $venv if missing" >&2
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
py="$venv/bin/python"
echo "== building Plinth (schema, kernel-lib, server)" >&2
(cd "$root" && npm run -s build -w @plinth/schema && npx tsc -b kernel-lib server) >&2

data="$root/bench/.data/repository/$scale"
out="$root/bench/.data/repository/$scale.jsonl"
mkdir -p "$data/logs"
: > "$out"
step() { echo "== $1" >&2; shift; "$@" | tee -a "$out"; }
monitor="${out%.jsonl}.monitor.jsonl"
: > "$monitor"
timeout "$limit" node "$root/bench/monitor.js" --root $$ --seconds "$limit" > "$monitor" &
monitor_pid=$!
server_pid=
cleanup() {
  [ -z "$server_pid" ] || { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  kill -TERM "$monitor_pid" 2>/dev/null || true
  wait "$monitor_pid" 2>/dev/null || true
}
trap cleanup EXIT

versions="$("$py" -c 'import mlflow, onnx, onnxruntime as o; print(mlflow.__version__, onnx.__version__, o.__version__)')"
read -r mlflow_v onnx_v ort_py_v <<< "$versions"
ort_node_v="$(cd "$root/kernel-lib" && node -p "require('onnxruntime-node/package.json').version")"
echo "{\"phase\":\"env\",\"scale\":\"$scale\",\"runs\":$runs,\"cpus\":$(nproc),\"node\":\"$(node --version)\",\"python\":\"$("$py" --version)\",\"mlflow\":\"$mlflow_v\",\"onnx\":\"$onnx_v\",\"onnxruntime_python\":\"$ort_py_v\",\"onnxruntime_node\":\"$ort_node_v\"}" >> "$out"
step "generating $runs runs (gen.js, written once per scale)" node "$here/gen.js" --out "$data" --runs "$runs"
step "Plinth: loading $runs runs into the run store (PGlite)" node "$here/plinth.js" load --data "$data"
step "Plinth: searches in process (the run store)" node "$here/plinth.js" search --data "$data"
step "MLflow: loading $runs runs into its tracking store (SQLite)" "$py" "$here/mlflow_side.py" load --data "$data"
step "MLflow: searches in process (MlflowClient.search_runs)" "$py" "$here/mlflow_side.py" search --data "$data"
step "Plinth: a GBT of 500 trees trained and compiled to ONNX (kernel-lib; once per scale)" \
  node "$here/plinth.js" model --data "$data" --reps "$reps" --rows "$model_rows"

port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
echo "== starting Plinth's control plane on 127.0.0.1:$port" >&2
node "$root/server/bin/plinth.js" serve --data-dir "$data/plinth" --host 127.0.0.1 --port "$port" --log-level warn \
  --no-jobs --no-streams > "$data/logs/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/api/v1/health" > /dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$data/logs/serve.log" >&2; exit 1; }
  sleep 0.2
done
step "Plinth: searches through POST /api/v1/runs/search" node "$here/plinth.js" search --data "$data" --url "http://127.0.0.1:$port"
step "Plinth: publishing the model $reps times through the control plane, then loading each version (kernel-lib)" \
  node "$here/plinth.js" publish --data "$data" --url "http://127.0.0.1:$port"
kill -TERM "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=
step "MLflow: logging and registering the same ONNX bytes $reps times, then loading each version" \
  "$py" "$here/mlflow_side.py" publish --data "$data"
cleanup

node "$here/report.js" "$out" "$scale" "$root/bench/results" "$monitor"
