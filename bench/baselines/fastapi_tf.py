"""FastAPI + uvicorn + Python TF baseline for `npm run bench:rest`.

Serves TF Serving's REST predict shape and KServe v2's JSON infer shape for one SavedModel, the
way a typical Python deployment does: tf.saved_model.load, the `serving_default` concrete
function, numpy, orjson for (de)serialisation (numpy arrays written by orjson directly). Run under
uvicorn with uvloop and httptools (uvicorn[standard]), the fastest stack FastAPI has.

    POST /v1/models/{name}:predict   {"instances": [...]}  ->  {"predictions": [...]}
    POST /v2/models/{name}/infer     {"inputs": [{"name", "shape", "datatype", "data"}]}
                                     ->  {"model_name", "outputs": [{"name", "datatype", "shape", "data"}]}

Environment: MODEL_DIR (a SavedModel directory, i.e. <base>/<version>).
Run: python -m uvicorn fastapi_tf:app --app-dir bench/baselines --host 127.0.0.1 --port PORT
"""

import os

import numpy as np
import orjson
import tensorflow as tf
from fastapi import FastAPI, Request
from fastapi.responses import Response

MODEL_DIR = os.environ["MODEL_DIR"]

model = tf.saved_model.load(MODEL_DIR)
serving = model.signatures["serving_default"]
_, input_specs = serving.structured_input_signature
INPUT_NAME, INPUT_SPEC = next(iter(input_specs.items()))
INPUT_DTYPE = INPUT_SPEC.dtype.as_numpy_dtype
OUTPUT_NAMES = sorted(serving.structured_outputs.keys())

app = FastAPI()


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json")


# `async def` runs the (short) TF call inline on the event loop: for a tiny model this is the
# fastest FastAPI gets (a plain `def` adds a threadpool hop per request).
@app.post("/v1/models/{name}:predict")
async def predict(name: str, request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
        instances = body["instances"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        return _error(400, f"bad request: {exc}")
    x = tf.constant(np.asarray(instances, dtype=INPUT_DTYPE))
    outputs = serving(**{INPUT_NAME: x})
    if len(OUTPUT_NAMES) == 1:
        predictions = outputs[OUTPUT_NAMES[0]].numpy()
        return Response(orjson.dumps({"predictions": predictions}, option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json")
    arrays = {k: outputs[k].numpy() for k in OUTPUT_NAMES}
    rows = [{k: arrays[k][i] for k in OUTPUT_NAMES} for i in range(len(instances))]
    return Response(orjson.dumps({"predictions": rows}, option=orjson.OPT_SERIALIZE_NUMPY),
                    media_type="application/json")


_KSERVE_DATATYPE = {np.float32: "FP32", np.float64: "FP64", np.int32: "INT32", np.int64: "INT64"}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
        inp = body["inputs"][0]
        x = np.asarray(inp["data"], dtype=INPUT_DTYPE).reshape(inp["shape"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
        return _error(400, f"bad request: {exc}")
    outputs = serving(**{INPUT_NAME: tf.constant(x)})
    result = []
    for k in OUTPUT_NAMES:
        v = outputs[k].numpy()
        result.append({"name": k, "datatype": _KSERVE_DATATYPE.get(v.dtype.type, "FP32"), "shape": list(v.shape),
                       "data": v.reshape(-1)})
    return Response(orjson.dumps({"model_name": name, "outputs": result}, option=orjson.OPT_SERIALIZE_NUMPY),
                    media_type="application/json")


@app.get("/v1/models/{name}")
async def status(name: str) -> Response:
    return Response(orjson.dumps({"model_version_status": [{"version": "1", "state": "AVAILABLE"}]}),
                    media_type="application/json")
