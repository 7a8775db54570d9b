#!/usr/bin/env bash
# bench/online-store: online feature reads, N entities x 50 features. Plinth's kernel-lib read
# directly (LMDB, Redis) and over HTTP (the control plane's POST /api/v1/online-features),
# side by side with Feast's Python feature server (`feast serve`) reading the same data from
# the same redis-server, under the same load.
#
#   npm run bench:online-store                    # the issue's size (100k entities; about 15 minutes)
#   npm run bench:online-store -- --scale smoke   # a quick check of the whole path (10k entities)
#
# Writes bench/results/online-store.json and .md. Data goes to bench/.data (gitignored). Every
# server (redis-server, the control plane, feast serve) listens on 127.0.0.1 only, is stopped
# when the script ends and, should the script be killed, stops by itself after a time limit.
source "$(dirname "$0")/../common.sh"
case "$scale" in
  # entities; seconds per load run; warm-up seconds; timed single-entity LMDB calls; seconds of Feast in-process calls
  smoke) entities=10000; dur=3; warm=1; calls=20000; feast_direct=3; limit=1200 ;;
  full) entities=100000; dur=15; warm=3; calls=200000; feast_direct=10; limit=3600 ;;
  *) echo "unknown scale $scale (smoke or full)" >&2; exit 2 ;;
esac
connections=32

venv="$root/bench/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import feast, redis' 2>/dev/null; then
  echo "== installing the peer (Feast with its Redis extra) into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
echo "== building Plinth"
(cd "$root" && npm run -s build -w @plinth/schema && npx tsc -b kernel-lib server)

data="$root/bench/.data/online-store/$scale"
out="$root/bench/.data/online-store/$scale.jsonl"
mkdir -p "$(dirname "$out")"
: > "$out"
step() { echo "== $1" >&2; shift; "$@" | tee -a "$out"; }
# What else keeps the machine busy meanwhile (report.js marks the runs it disturbed).
monitor="${out%.jsonl}.monitor.jsonl"
node "$here/../monitor.js" --root $$ --seconds "$limit" > "$monitor" &

# Servers started here, stopped on exit; `timeout` stops each by itself should this script die.
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

step "generating $entities entities x 50 features (one Parquet file)" node "$here/plinth.js" gen --data "$data" --entities "$entities"
mkdir -p "$data/logs"

redis_port="$(free_port)"
timeout "$limit" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$data/logs" \
  > "$data/logs/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_url="redis://127.0.0.1:$redis_port"
echo "{\"phase\":\"env\",\"redis\":\"$(redis-server --version | sed 's/ sha=.*//')\",\"feast\":\"$("$venv/bin/python" -c 'import feast; print(feast.__version__)')\",\"node\":\"$(node --version)\",\"python\":\"$("$venv/bin/python" --version)\",\"cpus\":$(nproc),\"entities\":$entities,\"seconds\":$dur,\"connections\":$connections}" >> "$out"

step "Plinth: apply + materialize into LMDB" node "$here/plinth.js" setup --data "$data"
step "Plinth: materialize into Redis ($redis_url)" node "$here/plinth.js" setup --data "$data" --online-store "$redis_url"
step "Feast: apply + materialize into the same Redis" "$venv/bin/python" "$here/feast_side.py" setup --data "$data" --redis "127.0.0.1:$redis_port"

step "kernel-lib direct reads (LMDB read-only in another process, Redis)" \
  node "$here/direct.js" --lmdb "$data/plinth/online" --redis "$redis_url" --entities "$entities" --calls "$calls"
node -e "
const { bodies } = require('$here/shared.js');
const ids = (per, n) => bodies($entities, per, n).map((b) => JSON.parse(b).entities.user_id);
require('fs').writeFileSync('$data/ids.json', JSON.stringify({ 1: ids(1, 2000), 100: ids(100, 200) }));"
step "Feast in process: FeatureStore.get_online_features" \
  "$venv/bin/python" "$here/feast_side.py" direct --data "$data" --ids "$data/ids.json" --seconds "$feast_direct"

# One server at a time, each under the same sequence of loads from a separate process.
load_server() { # side, base url, path, pid
  local side="$1" url="$2" path="$3"
  local L=(node "$here/load.js")
  local common=(--side "$side" --url "$url" --path "$path" --entities "$entities")
  step "$side: answer for the cross-check" "${L[@]}" answer "${common[@]}" --out "$data/answer-$side.json"
  step "$side: throughput, 1 entity, $connections connections" \
    "${L[@]}" throughput "${common[@]}" --per 1 --connections "$connections" --duration "$dur" --warmup "$warm"
  step "$side: throughput, 100 entities, $connections connections" \
    "${L[@]}" throughput "${common[@]}" --per 100 --connections "$connections" --duration "$dur"
  step "$side: 1 entity at 1000 requests/s" "${L[@]}" rate "${common[@]}" --per 1 --rate 1000 --duration "$dur" --warmup "$warm"
  step "$side: 1 entity at 100 requests/s" "${L[@]}" rate "${common[@]}" --per 1 --rate 100 --duration "$dur"
  step "$side: 100 entities at 10 requests/s" "${L[@]}" rate "${common[@]}" --per 100 --rate 10 --duration $((2 * dur))
}

plinth_server() { # side, extra flags...
  local side="$1"; shift
  local port; port="$(free_port)"
  echo "== starting Plinth's control plane ($side) on 127.0.0.1:$port" >&2
  timeout "$limit" node "$root/server/bin/plinth.js" serve --data-dir "$data/plinth" --host 127.0.0.1 --port "$port" \
    --log-level warn "$@" > "$data/logs/$side.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/api/v1/health" "$side" "$pid"
  load_server "$side" "http://127.0.0.1:$port" /api/v1/online-features
  stop_all_but_redis
}
feast_server() { # side, workers
  local side="$1" workers="$2"
  local port; port="$(free_port)"
  echo "== starting feast serve ($workers worker(s)) on 127.0.0.1:$port" >&2
  # --max-requests 0: gunicorn's default (1000) restarts the worker every ~1000 requests, and
  # with one worker every restart is a pause. Access log off, as Plinth's request log is (warn).
  timeout "$limit" "$venv/bin/feast" -c "$data/feast" serve -h 127.0.0.1 -p "$port" -w "$workers" \
    --no-access-log --max-requests 0 > "$data/logs/$side.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/health" "$side" "$pid"
  load_server "$side" "http://127.0.0.1:$port" /get-online-features
  stop_all_but_redis
}
stop_all_but_redis() {
  for p in "${pids[@]}"; do [ "$p" = "$redis_pid" ] || kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do [ "$p" = "$redis_pid" ] || wait "$p" 2>/dev/null || true; done
  pids=("$redis_pid")
}

plinth_server plinth-lmdb
plinth_server plinth-redis --online-store "$redis_url"
feast_server feast-1w 1
feast_server feast-2w 2

step "cross-check: the same 100 entities x 50 values from every server" node "$here/load.js" compare \
  "$data/answer-plinth-lmdb.json" "$data/answer-plinth-redis.json" "$data/answer-feast-1w.json" "$data/answer-feast-2w.json"
stop_all

node "$here/report.js" "$out" "$scale" "$root/bench/results" "$monitor"
