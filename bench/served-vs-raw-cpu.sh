#!/bin/bash
# Served vs raw at the same shape, by CPU: alternates a served window (16 single-image clients,
# which the default batching runs as two batches of 8) with a raw in-process window of batch 8, two
# runs in flight (the same shape), and for the middle 10 s of each reads the machine's idle share
# (/proc/stat), images/s, and the CPU of each thread group of the process that runs TF (the server,
# or the raw `jetserve perf --in-process`): `jetserve-load` is TF's pool (its threads inherit the
# name of the thread that loaded the model), `jetserve-run` the executor's threads, `node` the JS
# thread, libuv's and V8's workers. Images per second of TF pool CPU tells whether TF itself runs
# slower when served, or whether the network path takes its share of the two cores.
#
# usage: bench/served-vs-raw-cpu.sh [ROUNDS] [PROTOCOL]   (default 3 rounds, kserve-binary)
# env:   MODEL_DIR (a base path with version dirs; default bench:resnet50's ResNet50), MODEL_NAME
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
PROTOCOL=${2:-kserve-binary}
# shellcheck source=lib/served.sh
source bench/lib/served.sh
served_preflight

REST=$(served_port); GRPC=$((REST + 1))
TMP=$(mktemp -d)
node bin/jetserve.js --model_name="$MODEL_NAME" --model_base_path="$MODEL_DIR" --rest_api_port=$REST --port=$GRPC \
  --enable_metrics > "$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2> /dev/null; rm -rf "$TMP"' EXIT
served_wait $REST
URL=http://127.0.0.1:$REST
[[ $PROTOCOL == *grpc ]] && URL=grpc://127.0.0.1:$GRPC
# the server's batches take a few shapes; oneDNN compiles kernels for each on its first run
node bin/jetserve.js perf --url "$URL" --model "$MODEL_NAME" --protocol "$PROTOCOL" --concurrency 16 \
  --duration 8 --warmup 2 --max-windows 1 --quiet > /dev/null 2>&1

# "busy idle" jiffies of the whole machine; CPU ticks per thread name of one process
machine() { head -1 /proc/stat | awk '{ print $2 + $3 + $4 + $6 + $7 + $8 + $9, $5 }'; }
threads() { for t in /proc/"$1"/task/*; do echo "$(tr ' ' _ < "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"; done 2> /dev/null; }

printf '%-7s %7s %6s %9s %9s %9s %8s  %s\n' kind img/s idle 'TF pool' executor node 'img/cpu-s' 'batch / run time'
for _ in $(seq "$ROUNDS"); do
  for kind in served raw; do
    if [ $kind = served ]; then
      args=(--url "$URL" --model "$MODEL_NAME" --protocol "$PROTOCOL" --concurrency 16
        --metrics-url "http://127.0.0.1:$REST/monitoring/prometheus/metrics")
    else
      args=(--in-process "$MODEL_DIR/1" --batch-size 8 --concurrency 2)
    fi
    node bin/jetserve.js perf "${args[@]}" --duration 16 --warmup 6 --max-windows 1 --quiet --json "$TMP/$kind.json" > /dev/null 2>&1 &
    PERF=$!
    TF=$SERVER; [ $kind = raw ] && TF=$PERF
    sleep 12
    threads $TF > "$TMP/t0"; read -r busy0 idle0 < <(machine)
    sleep 10
    threads $TF > "$TMP/t1"; read -r busy1 idle1 < <(machine)
    wait $PERF
    node - "$TMP/$kind.json" "$TMP/t0" "$TMP/t1" $((busy1 - busy0)) $((idle1 - idle0)) $kind <<'JS'
const { readFileSync } = require('node:fs');
const [file, t0, t1, busy, idle, kind] = process.argv.slice(2);
const d = JSON.parse(readFileSync(file, 'utf8'));
const l = d.levels[0];
const ips = (l.requests * d.target.batch_size) / (l.windows * d.settings.window_s);
const ticks = (f) => readFileSync(f, 'utf8').trim().split('\n').reduce((m, line) => {
  const [name, t] = line.split(' ');
  m.set(name, (m.get(name) ?? 0) + Number(t));
  return m;
}, new Map());
const [a, b] = [ticks(t0), ticks(t1)];
const seconds = (name) => ((b.get(name) ?? 0) - (a.get(name) ?? 0)) / 100;
const pool = seconds('jetserve-load');
const shape = l.server ? `batch ${l.server.mean_batch_size}, ${(l.server.compute_us / 1000).toFixed(0)} ms compute` : `run p50 ${(l.latency_us.p50 / 1000).toFixed(0)} ms`;
const idleShare = (100 * Number(idle)) / (Number(busy) + Number(idle));
console.log(`${kind.padEnd(7)} ${ips.toFixed(1).padStart(7)} ${idleShare.toFixed(0).padStart(5)}% ${pool.toFixed(1).padStart(8)}s ${seconds('jetserve-run').toFixed(1).padStart(8)}s ${seconds('node').toFixed(1).padStart(8)}s ${(ips / (pool / 10)).toFixed(2).padStart(9)}  ${shape}`);
JS
  done
done
