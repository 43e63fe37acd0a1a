"""Drives a jetserve REST server with the official Triton Python HTTP client (tritonclient.http).

Reads one JSON job from stdin, prints one JSON report on stdout. The vitest side
(test/server/tritonclient.test.ts) builds the job from the fixture oracle and checks the report.

job = {
  "url": "127.0.0.1:PORT",
  "model": "half_plus_two",                 # for the health / metadata / config calls
  "infer": [ {
      "id": "case label",
      "model": "mlp", "version": "",         # version "" = server's choice
      "binary": true,                        # binary_data for inputs and outputs
      "inputs": [ {"name", "datatype", "shape", "b64"} | {"name", "datatype": "BYTES", "shape", "strings_b64"} ],
      "outputs": ["y", ...] | null            # null: request none explicitly (server returns all)
  } ]
}
report = {
  "live", "ready", "model_ready", "server_metadata", "model_metadata", "model_config",
  "unknown_model_error": "<message tritonclient raised>",
  "infer": [ {"id", "outputs": {name: {"datatype", "shape", "b64" | "strings_b64"}} } | {"id", "error"} ]
}
Numeric outputs come back as raw little-endian bytes (base64) so the caller compares them bit for bit.
"""

import base64
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}


def to_numpy(spec):
    shape = spec["shape"]
    if spec["datatype"] == "BYTES":
        values = [base64.b64decode(s) for s in spec["strings_b64"]]
        return np.array(values, dtype=np.object_).reshape(shape)
    raw = base64.b64decode(spec["b64"])
    return np.frombuffer(raw, dtype=NUMPY[spec["datatype"]]).reshape(shape)


def from_numpy(arr, datatype):
    out = {"datatype": datatype, "shape": [int(d) for d in arr.shape]}
    if datatype == "BYTES":
        flat = arr.reshape(-1)
        out["strings_b64"] = [
            base64.b64encode(v if isinstance(v, bytes) else str(v).encode()).decode() for v in flat
        ]
    else:
        out["b64"] = base64.b64encode(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()).decode()
    return out


def run_infer(client, job):
    inputs = []
    for spec in job["inputs"]:
        arr = to_numpy(spec)
        inp = httpclient.InferInput(spec["name"], list(arr.shape), spec["datatype"])
        inp.set_data_from_numpy(arr, binary_data=job["binary"])
        inputs.append(inp)
    outputs = None
    if job.get("outputs"):
        outputs = [httpclient.InferRequestedOutput(name, binary_data=job["binary"]) for name in job["outputs"]]
    try:
        result = client.infer(
            job["model"], inputs, model_version=job.get("version", ""), outputs=outputs, request_id=job["id"]
        )
    except InferenceServerException as err:
        return {"id": job["id"], "error": err.message(), "status": err.status()}
    response = result.get_response()
    report = {"id": job["id"], "response_id": response.get("id"), "model_version": response.get("model_version"), "outputs": {}}
    for out in response["outputs"]:
        arr = result.as_numpy(out["name"])
        report["outputs"][out["name"]] = from_numpy(arr, out["datatype"])
    return report


def main():
    job = json.load(sys.stdin)
    client = httpclient.InferenceServerClient(url=job["url"], verbose=False, network_timeout=60.0)
    model = job["model"]
    report = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "server_metadata": client.get_server_metadata(),
        "model_metadata": client.get_model_metadata(model),
        "model_config": client.get_model_config(model),
    }
    try:
        client.get_model_metadata("no_such_model")
        report["unknown_model_error"] = None
    except InferenceServerException as err:
        report["unknown_model_error"] = err.message()
    report["unknown_model_ready"] = client.is_model_ready("no_such_model")
    report["infer"] = [run_infer(client, j) for j in job.get("infer", [])]
    client.close()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
