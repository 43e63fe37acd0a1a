# Sourced by bench/served-*.sh: the SavedModel they serve, its check, and a started jetserve's
# readiness. MODEL_DIR is a base path with version dirs (default: bench:resnet50's ResNet50).
MODEL_DIR=${MODEL_DIR:-$HOME/.cache/jetserve/bench-models/resnet50}
MODEL_NAME=${MODEL_NAME:-resnet50}

# The model is there and the CLI is built.
served_preflight() {
  [ -f "$MODEL_DIR/1/saved_model.pb" ] || { echo "no SavedModel under $MODEL_DIR/1 (npm run bench:resnet50 makes ResNet50)" >&2; exit 1; }
  [ -f dist/cli/index.js ] || npm run build:ts > /dev/null
}

# A REST port for a server; its gRPC port is the next one.
served_port() { echo $((20000 + RANDOM % 20000)); }

# Waits (≤ 120 s) until the jetserve on REST port $1 serves MODEL_NAME; exits when it does not.
served_wait() {
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/v1/models/$MODEL_NAME" && return 0
    sleep 0.2
  done
  echo "jetserve on port $1 did not serve $MODEL_NAME within 120 s" >&2
  exit 1
}
