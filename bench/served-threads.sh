#!/bin/bash
# Where a served model's CPU goes, per thread, and how often V8 collects: starts `jetserve` on a
# SavedModel (default: bench:resnet50's ResNet50) with --trace-gc, loads it with `jetserve perf`
# (16 clients) for SECONDS, and prints the CPU each thread group used during the load (from
# /proc/PID/task/*/stat: TF's pool threads inherit the name of the thread that loaded the model,
# `jetserve-load`; `jetserve-run` are the executor's; `node` is the JS thread and V8's platform
# workers, the GC's concurrent marking among them) and the scavenges and mark-compacts of the run.
#
# usage: bench/served-threads.sh [PROTOCOL] [SECONDS]   (PROTOCOL: kserve-binary, kserve-grpc,
#        tfserving-grpc, kserve-rest, tfserving-rest; default kserve-binary, 20 s)
# env:   MODEL_DIR (a base path with version dirs), MODEL_NAME, CLIENTS (16)
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOCOL=${1:-kserve-binary}
SECONDS_=${2:-20}
# shellcheck source=lib/served.sh
source bench/lib/served.sh
served_preflight

REST=$(served_port); GRPC=$((REST + 1))
LOG=$(mktemp)
node --trace-gc bin/jetserve.js --model_name="$MODEL_NAME" --model_base_path="$MODEL_DIR" \
  --rest_api_port=$REST --port=$GRPC --enable_metrics > "$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2> /dev/null; rm -f "$LOG"' EXIT
served_wait $REST

URL=http://127.0.0.1:$REST
[[ $PROTOCOL == *grpc ]] && URL=grpc://127.0.0.1:$GRPC
perf() { node bin/jetserve.js perf --url "$URL" --model "$MODEL_NAME" --protocol "$PROTOCOL" --concurrency "${CLIENTS:-16}" --quiet --json /dev/null "$@" > /dev/null 2>&1; }
perf --duration 6 --warmup 2 --max-windows 1 # warm: every batch shape compiled once

threads() { for t in /proc/$SERVER/task/*; do echo "$(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done | sort; }
gcs() { echo "$(grep -c Scavenge "$LOG") $(grep -c Mark-Compact "$LOG")"; }
threads > "$LOG.before"; read -r s0 m0 <<< "$(gcs)"
perf --duration "$SECONDS_" --warmup 0 --max-windows 1
threads > "$LOG.after"; read -r s1 m1 <<< "$(gcs)"

echo "$PROTOCOL, ${CLIENTS:-16} clients, ${SECONDS_} s: CPU seconds per thread group (clock ticks / 100)"
join <(awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' "$LOG.before" | sort) \
     <(awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' "$LOG.after" | sort) |
  awk '{printf "  %-16s %7.2f s\n", $1, ($3 - $2) / 100}'
echo "  scavenges $((s1 - s0)), mark-compacts $((m1 - m0))"
rm -f "$LOG.before" "$LOG.after"
