#!/bin/sh
# jetserve's container entrypoint, with tensorflow/serving's conventions: the model is
# ${MODEL_BASE_PATH}/${MODEL_NAME} (defaults /models/model), gRPC on 8500, REST on 8501, and every
# argument given to the container is appended, so a later flag overrides an earlier one:
#   docker run -p 8501:8501 -v "$PWD/mlp:/models/mlp" -e MODEL_NAME=mlp jetserve --enable_batching=false
# A --model_config_file or --model_repository argument replaces the single model (jetserve refuses
# it together with --model_base_path). GRPC_PORT / REST_API_PORT change the two ports (the image's
# HEALTHCHECK reads REST_API_PORT too).
set -eu

: "${MODEL_NAME:=model}"
: "${MODEL_BASE_PATH:=/models}"
: "${JETSERVE_HOME:=/opt/jetserve}"

single_model=1
for arg in "$@"; do
  case "$arg" in
    --model_config_file | --model_config_file=* | --model_repository | --model_repository=*) single_model= ;;
  esac
done
if [ -n "$single_model" ]; then
  set -- "--model_name=${MODEL_NAME}" "--model_base_path=${MODEL_BASE_PATH}/${MODEL_NAME}" "$@"
fi
exec node "${JETSERVE_HOME}/bin/jetserve.js" "--port=${GRPC_PORT:-8500}" "--rest_api_port=${REST_API_PORT:-8501}" "$@"
