#!/bin/bash
# Interleaved A/B of two server settings on a served model (default: bench:resnet50's ResNet50),
# with raw in-process runs between them: both servers stay up, and every round measures each entry
# once in turn, so a drifting machine moves all of them alike (this 2-core VM swings ±15 % between
# neighbouring minutes: compare within a round, and look at several).
#
# usage: bench/served-ab.sh "ENTRY ..." ROUNDS
#   ENTRY  raw:B:F          in-process Model.run, batch B, F in flight (jetserve perf --in-process)
#          A:PROTOCOL:B     server A over PROTOCOL (kserve-binary, kserve-grpc, tfserving-grpc, …),
#          B:PROTOCOL:B     server B; B images per request, CLIENTS clients
# env:   FLAGS_A / FLAGS_B  extra server flags (e.g. FLAGS_B=--tensorflow_intra_op_parallelism=1)
#        RAW_ENV            environment of the raw runs (e.g. RAW_ENV=TF_NUM_INTRAOP_THREADS=1)
#        NICE_B             nice value for server B's JS thread and its clients (e.g. 10)
#        MODEL_DIR, MODEL_NAME, CLIENTS (16), WINDOW (8 s; 5 s warm-up, 3 windows per entry)
# prints one line per entry and round: images/s, p99, the server's mean batch, client and server CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=$1
ROUNDS=${2:-2}
CLIENTS=${CLIENTS:-16}
# shellcheck source=lib/served.sh
source bench/lib/served.sh
served_preflight

declare -A REST GRPC PID
TMP=$(mktemp -d)
trap 'kill ${PID[A]:-} ${PID[B]:-} 2> /dev/null; rm -rf "$TMP"' EXIT
for s in A B; do
  REST[$s]=$(served_port); GRPC[$s]=$((REST[$s] + 1))
  flags=FLAGS_$s
  # shellcheck disable=SC2086  # FLAGS_* are word lists
  node bin/jetserve.js --model_name="$MODEL_NAME" --model_base_path="$MODEL_DIR" --rest_api_port=${REST[$s]} \
    --port=${GRPC[$s]} --enable_metrics ${!flags:-} > "$TMP/server-$s.log" 2>&1 &
  PID[$s]=$!
  served_wait "${REST[$s]}"
  node bin/jetserve.js perf --url "http://127.0.0.1:${REST[$s]}" --model "$MODEL_NAME" --protocol kserve-binary \
    --concurrency "$CLIENTS" --duration 6 --warmup 2 --max-windows 1 --quiet > /dev/null
done
# Linux: renice of the process id changes its main (JS) thread only; TF's threads keep theirs
[ -n "${NICE_B:-}" ] && renice -n "$NICE_B" -p "${PID[B]}" > /dev/null

WINDOWS=(--duration "${WINDOW:-8}" --warmup 5 --max-windows 3)
for _ in $(seq "$ROUNDS"); do
  for entry in $ENTRIES; do
    IFS=: read -r kind a b <<< "$entry"
    pre=(); P=
    if [ "$kind" = raw ]; then
      # shellcheck disable=SC2206  # RAW_ENV is a list of NAME=VALUE
      pre=(env ${RAW_ENV:-})
      args=(--in-process "$MODEL_DIR/1" --batch-size "$a" --concurrency "$b")
    else
      url=http://127.0.0.1:${REST[$kind]}; [[ $a == *grpc ]] && url=grpc://127.0.0.1:${GRPC[$kind]}
      P=${PID[$kind]}
      [ "$kind" = B ] && [ -n "${NICE_B:-}" ] && pre=(nice -n "$NICE_B")
      args=(--url "$url" --model "$MODEL_NAME" --protocol "$a" --batch-size "$b" --concurrency "$CLIENTS"
        --metrics-url "http://127.0.0.1:${REST[$kind]}/monitoring/prometheus/metrics")
    fi
    s0=0; [ -n "$P" ] && s0=$(awk '{print $14 + $15}' "/proc/$P/stat")
    "${pre[@]}" /usr/bin/time -f "%U %S" -o "$TMP/time" node bin/jetserve.js perf "${args[@]}" "${WINDOWS[@]}" --quiet --json "$TMP/r.json" \
      > /dev/null 2> "$TMP/perf.err" || { cat "$TMP/perf.err" >&2; exit 1; }
    s1=0; [ -n "$P" ] && s1=$(awk '{print $14 + $15}' "/proc/$P/stat")
    python3 - "$entry" "$s0" "$s1" "$TMP" << 'PY'
import json, sys
entry, s0, s1, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
level = json.load(open(f"{tmp}/r.json"))["levels"][0]
user, system = map(float, open(f"{tmp}/time").read().split())
server = level.get("server") or {}
print(f"{entry:24s} {level['throughput_items_per_s']:6.2f} img/s  p99 {level['latency_us']['p99'] / 1000:6.0f} ms  "
      f"batch {server.get('mean_batch_size', '-')}  client cpu {user + system:5.1f} s  server cpu {(s1 - s0) / 100:5.1f} s", flush=True)
PY
  done
done
