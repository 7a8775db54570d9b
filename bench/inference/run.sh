#!/usr/bin/env bash
# bench/inference: a GBT pipeline (100 trees, 31 leaves) reading 50 online features, served by
# Plinth's inference tier (`plinth infer`, on LMDB and on Redis) and loaded over loopback from a
# separate process (autocannon): max predictions/s, then p50/p99 at half that rate. Side by side
# with `mlflow models serve` (installed into bench/.venv) serving the same ONNX bytes with the
# 50 feature values in the request, and with raw onnxruntime-node in process (the ceiling).
#
#   npm run bench:inference                    # 100k entities, 15 s runs (about 15 minutes; quiet machine)
#   npm run bench:inference -- --scale smoke   # 10k entities, 3 s runs (about 5 minutes)
#
# Writes bench/results/inference.json and .md. Data goes to bench/.data/inference (gitignored).
# Every server (redis-server, the control plane, plinth infer, mlflow models serve) listens on
# 127.0.0.1 only, is stopped when the script ends and, should the script be killed, stops by
# itself after a time limit (`timeout`).
source "$(dirname "$0")/../common.sh"
case "$scale" in
  # entities; seconds per load run; warm-up seconds; training rows; request bodies per shape; raw seconds; limit
  smoke) entities=10000; dur=3; warm=1; train_rows=10000; requests=5000; raw_s=2; limit=1200 ;;
  full) entities=100000; dur=15; warm=3; train_rows=20000; requests=20000; raw_s=10; limit=3600 ;;
esac
# Max throughput at two concurrencies, the same on every side: 64 connections saturate two cores
# and let micro-batches form; 8 is where a Python server with few workers does best (less queueing).
connection_counts=(64 8)

venv="$root/bench/.venv"
py="$venv/bin/python"
if [ ! -x "$py" ] || ! "$py" -c 'import mlflow, onnxruntime, uvicorn, pandas' 2>/dev/null; then
  echo "== installing the peer (MLflow, onnxruntime) into $venv" >&2
  [ -x "$py" ] || python3 -m venv "$venv"
  # The same pins as bench/repository: MLflow and onnxruntime at kernel-lib's onnxruntime-node version.
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/bench/repository/requirements.txt"
fi
echo "== building Plinth (schema, kernel-lib, server)" >&2
(cd "$root" && npm run -s build -w @plinth/schema && npx tsc -b kernel-lib server) >&2

data="$root/bench/.data/inference/$scale"
out="$root/bench/.data/inference/$scale.jsonl"
mkdir -p "$(dirname "$out")"
: > "$out"
step() { echo "== $1" >&2; shift; "$@" | tee -a "$out"; }
monitor="${out%.jsonl}.monitor.jsonl"
timeout "$limit" node "$root/bench/monitor.js" --root $$ --seconds "$limit" > "$monitor" &
monitor_pid=$!
plinth=(node "$root/server/bin/plinth.js")

# Servers started here, stopped on exit; `timeout` stops each (its process group) by itself should this script die.
pids=()
stop() { # pids...
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
  stop "${pids[@]}"
  stop "$monitor_pid"
}
trap cleanup EXIT

# The data: bench/online-store's 50-feature view, materialized into LMDB and into a redis-server.
step "generating $entities entities x 50 features (bench/online-store)" \
  node "$root/bench/online-store/plinth.js" gen --data "$data" --entities "$entities"
mkdir -p "$data/logs" "$data/inference"
redis_port="$(free_port)"
timeout "$limit" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$data/logs" \
  > "$data/logs/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
redis_url="redis://127.0.0.1:$redis_port"
step "Plinth: apply + materialize into LMDB" node "$root/bench/online-store/plinth.js" setup --data "$data"
step "Plinth: materialize into Redis ($redis_url)" \
  node "$root/bench/online-store/plinth.js" setup --data "$data" --online-store "$redis_url"

# The lead's --workers / --max-batch / --max-wait-ms may not be in `plinth infer` yet: use what is there.
infer_help="$("${plinth[@]}" infer --help)"
infer_flags=()
workers=1
if grep -q -- '--workers' <<< "$infer_help"; then workers=2; infer_flags+=(--workers "$workers"); fi
batching=false
grep -q -- '--max-batch' <<< "$infer_help" && batching=true
versions="$("$py" -c 'import mlflow, onnxruntime as o, pandas; print(mlflow.__version__, o.__version__, pandas.__version__)')"
read -r mlflow_v ort_py_v pandas_v <<< "$versions"
ort_node_v="$(cd "$root/kernel-lib" && node -p "require('onnxruntime-node/package.json').version")"
autocannon_v="$(cd "$root" && node -p "require('autocannon/package.json').version")"
echo "{\"phase\":\"env\",\"scale\":\"$scale\",\"entities\":$entities,\"seconds\":$dur,\"connections\":[$(IFS=,; echo "${connection_counts[*]}")],\"cpus\":$(nproc),\"workers\":$workers,\"workers_flag\":$([ "$workers" = 2 ] && echo true || echo false),\"batching_flags\":$batching,\"infer_flags\":\"${infer_flags[*]}\",\"node\":\"$(node --version)\",\"python\":\"$("$py" --version)\",\"mlflow\":\"$mlflow_v\",\"onnxruntime_python\":\"$ort_py_v\",\"pandas\":\"$pandas_v\",\"onnxruntime_node\":\"$ort_node_v\",\"autocannon\":\"$autocannon_v\",\"redis\":\"$(redis-server --version | sed 's/ sha=.*//')\"}" >> "$out"

start_infer() { # side, port, extra flags...
  local side="$1" port="$2"; shift 2
  echo "== starting plinth infer ($side${infer_flags[*]:+, ${infer_flags[*]}}) on 127.0.0.1:$port" >&2
  timeout "$limit" "${plinth[@]}" infer --data-dir "$data/plinth" --host 127.0.0.1 --infer-port "$port" \
    --control-plane "$cp_url" --log-level warn "${infer_flags[@]}" "$@" > "$data/logs/$side.log" 2>&1 &
  infer_pid=$!
  pids+=("$infer_pid")
  wait_http "http://127.0.0.1:$port/v2/health/ready" "$side" "$infer_pid"
}
cp_port="$(free_port)"
lmdb_port="$(free_port)"
echo "== starting Plinth's control plane on 127.0.0.1:$cp_port" >&2
# --infer-port: deploy runs its sanity test on the inference tier there (the LMDB one, started next).
timeout "$limit" "${plinth[@]}" serve --data-dir "$data/plinth" --host 127.0.0.1 --port "$cp_port" \
  --infer-port "$lmdb_port" --log-level warn --no-streams > "$data/logs/serve.log" 2>&1 &
cp_pid=$!
pids+=("$cp_pid")
cp_url="http://127.0.0.1:$cp_port"
wait_http "$cp_url/api/v1/health" "control plane" "$cp_pid"
start_infer plinth-lmdb "$lmdb_port"
step "Plinth: train the GBT, publish it (online inputs from user_stats), deploy it" \
  node "$here/plinth.js" deploy --data "$data" --url "$cp_url" --entities "$entities" --rows "$train_rows" --requests "$requests"

# The ceiling: as many processes as the inference tier has workers, and one.
procs_list=1
[ "$workers" = 1 ] || procs_list="1 $workers"
for procs in $procs_list; do
  step "raw onnxruntime-node in process, $procs process(es), batches of 1 and 32" node "$here/raw.js" \
    --model "$data/inference/model.onnx" --features "$data/inference/raw-features.json" --batches 1,32 \
    --procs "$procs" --seconds "$raw_s"
done

# One server at a time under the same loads from a separate process (bench/online-store/load.js).
load_server() { # side, base url, path, body prefix
  local side="$1" url="$2" path="$3" prefix="$4"
  step "$side: predictions of the cross-check entities" node "$here/plinth.js" answer --data "$data" --side "$side" --url "$url"
  for per in 1 10; do
    local L=(node "$root/bench/online-store/load.js")
    local common=(--side "$side" --url "$url" --path "$path" --per "$per" --bodies "$data/inference/bodies-$prefix-$per.json")
    local what="$per entit$([ "$per" = 1 ] && echo y || echo ies) per request"
    local best=0 line rps
    for c in "${connection_counts[@]}"; do
      line="$(step "$side: max throughput, $what, $c connections" \
        "${L[@]}" throughput "${common[@]}" --connections "$c" --duration "$dur" --warmup "$warm")"
      echo "$line" >&2
      rps="$(node -p "JSON.parse(process.argv[1]).rps" "$line")"
      [ "$rps" -le "$best" ] || best="$rps"
    done
    local half=$(((best + 1) / 2))
    [ "$half" -ge 1 ] || half=1
    step "$side: $what at half the best of those: $half requests/s" \
      "${L[@]}" rate "${common[@]}" --rate "$half" --duration "$dur" --warmup "$warm"
  done
}

serve_and_load() { # side, port, extra flags...
  local side="$1" port="$2"
  [ -n "${infer_pid:-}" ] || start_infer "$@"
  # Ready = it has the deployment list; wait until the model itself is loaded.
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/v1/health" | grep -q '"bench_inference"' && break
    sleep 0.5
  done
  load_server "$side" "http://127.0.0.1:$port" /v1/predict/bench_inference plinth
  # The workers' summed metrics (batch sizes, prediction log drops) for the record.
  curl -sf "http://127.0.0.1:$port/metrics" > "$data/logs/$side.metrics.txt" || true
  # What the prediction log kept up with over all of this side's load (it drops when behind).
  step "$side: prediction log and batch sizes over the run" node -e '
    const t = require("fs").readFileSync(process.argv[1], "utf8");
    const sum = (re) => [...t.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
    console.log(JSON.stringify({ phase: "log", side: process.argv[2],
      predictions: sum(/^plinth_inference_predictions_total\{[^}]*\} (\S+)$/gm),
      written: sum(/^plinth_prediction_log_rows_total (\S+)$/gm),
      dropped: sum(/^plinth_prediction_log_dropped_total (\S+)$/gm),
      pending: sum(/^plinth_prediction_log_pending_rows (\S+)$/gm),
      batch_mean: sum(/^plinth_inference_batch_size_sum\{[^}]*\} (\S+)$/gm) / Math.max(1, sum(/^plinth_inference_batch_size_count\{[^}]*\} (\S+)$/gm)) }));
  ' "$data/logs/$side.metrics.txt" "$side"
  stop "$infer_pid"
  infer_pid=
}
serve_and_load plinth-lmdb "$lmdb_port"
serve_and_load plinth-redis "$(free_port)" --online-store "$redis_url"
# The same as plinth-lmdb without the prediction log: what the log costs.
serve_and_load plinth-lmdb-nolog "$(free_port)" --no-prediction-log

step "MLflow: the same ONNX bytes as an MLflow model (pyfunc over onnxruntime)" \
  "$py" "$here/mlflow_side.py" save --model "$data/inference/model.onnx" --out "$data/mlflow-model"
ml_port="$(free_port)"
echo "== starting mlflow models serve ($workers worker(s)) on 127.0.0.1:$ml_port" >&2
# uvicorn (which mlflow runs) is found on PATH; its access log is off, as Plinth's request log is (warn).
PATH="$venv/bin:$PATH" UVICORN_ACCESS_LOG=false MLFLOW_TRACKING_URI="file://$data/mlruns" timeout "$limit" \
  "$venv/bin/mlflow" models serve -m "$data/mlflow-model" -h 127.0.0.1 -p "$ml_port" -w "$workers" \
  --env-manager local > "$data/logs/mlflow.log" 2>&1 &
ml_pid=$!
pids+=("$ml_pid")
wait_http "http://127.0.0.1:$ml_port/ping" "mlflow models serve" "$ml_pid"
load_server "mlflow" "http://127.0.0.1:$ml_port" /invocations mlflow
stop "$ml_pid"

step "cross-check: every server's predictions against the same graph in process (<= 1e-6)" \
  node "$here/plinth.js" compare --data "$data"
cleanup
trap - EXIT

node "$here/report.js" "$out" "$scale" "$root/bench/results" "$monitor"
