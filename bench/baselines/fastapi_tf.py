"""FastAPI + uvicorn + Python TF baseline for `npm run bench:rest`.

Serves TF Serving's REST predict shape for one SavedModel, the way a typical Python deployment
does: tf.saved_model.load, the `serving_default` concrete function, orjson for (de)serialisation.

    POST /v1/models/{name}:predict   {"instances": [...]}  ->  {"predictions": [...]}

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


@app.get("/v1/models/{name}")
async def status(name: str) -> Response:
    return Response(orjson.dumps({"model_version_status": [{"version": "1", "state": "AVAILABLE"}]}),
                    media_type="application/json")
