"""Drives jetserve's gRPC server with the official Python clients, for the vitest suites.

Protocol: one JSON command per stdin line, one JSON answer per stdout line (in order).
  command = {"op": <name>, ...op fields}
  answer  = {"ok": true, ...result} | {"ok": false, "code": "NOT_FOUND", "details": "..."} (gRPC errors)
          | {"ok": false, "error": "<python exception>"} (driver bugs)

Tensors travel as the oracle's JSON (test/helpers/oracle.ts):
  {"dtype": "float32", "shape": [2, 3], "b64": <raw little-endian bytes>}
  {"dtype": "string", "shape": [2], "strings_b64": [...]}

Clients used, unchanged: tensorflow_serving.apis (PredictionServiceStub / ModelServiceStub with
tf.make_tensor_proto / tf.make_ndarray) and tritonclient.grpc (InferenceServerClient); the
statistics ops also drive tritonclient.http (its get_inference_statistics).
"""

import base64
import json
import math
import os
import sys
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
import tritonclient.grpc as tgrpc  # noqa: E402
import tritonclient.http as thttp  # noqa: E402
from tritonclient.grpc import service_pb2, service_pb2_grpc  # noqa: E402
from tritonclient.utils import np_to_triton_dtype  # noqa: E402

BFLOAT16 = tf.bfloat16.as_numpy_dtype


# ----------------------------------------------------------------------------------------------
# tensors


def np_dtype(name):
    return BFLOAT16 if name == "bfloat16" else np.dtype(name)


def to_np(t):
    shape = t["shape"]
    if t["dtype"] == "string":
        values = [base64.b64decode(s) for s in t["strings_b64"]]
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr.reshape(shape)
    return np.frombuffer(base64.b64decode(t["b64"]), dtype=np_dtype(t["dtype"])).reshape(shape).copy()


def from_np(arr):
    arr = np.asarray(arr)
    shape = [int(d) for d in arr.shape]
    if arr.dtype == object or arr.dtype.kind in ("S", "U"):
        flat = [v if isinstance(v, bytes) else str(v).encode() for v in arr.ravel().tolist()]
        return {"dtype": "string", "shape": shape, "strings_b64": [base64.b64encode(v).decode() for v in flat]}
    name = "bfloat16" if arr.dtype == BFLOAT16 else arr.dtype.name
    return {"dtype": name, "shape": shape, "b64": base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()}


def typed_proto(arr, count=None):
    """A TensorProto using the typed *_val field (first `count` elements only, for broadcasting)."""
    dt = tf.as_dtype(BFLOAT16 if arr.dtype == BFLOAT16 else (tf.string if arr.dtype == object else arr.dtype))
    p = tensor_pb2.TensorProto(dtype=dt.as_datatype_enum)
    p.tensor_shape.CopyFrom(tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in arr.shape]))
    flat = arr.ravel()
    if count is not None:
        flat = flat[:count]
    if dt == tf.string:
        p.string_val.extend(list(flat))
    elif dt in (tf.float16, tf.bfloat16):
        p.half_val.extend(flat.view(np.uint16).astype(np.int32).tolist())
    elif dt == tf.float32:
        p.float_val.extend(flat.tolist())
    elif dt == tf.float64:
        p.double_val.extend(flat.tolist())
    elif dt in (tf.int32, tf.int16, tf.int8, tf.uint8, tf.uint16):
        p.int_val.extend(flat.astype(np.int64).tolist())
    elif dt == tf.int64:
        p.int64_val.extend(flat.tolist())
    elif dt == tf.uint32:
        p.uint32_val.extend(flat.tolist())
    elif dt == tf.uint64:
        p.uint64_val.extend(flat.tolist())
    elif dt == tf.bool:
        p.bool_val.extend(flat.tolist())
    elif dt == tf.complex64:
        p.scomplex_val.extend(np.stack([flat.real, flat.imag], axis=-1).ravel().tolist())
    elif dt == tf.complex128:
        p.dcomplex_val.extend(np.stack([flat.real, flat.imag], axis=-1).ravel().tolist())
    else:
        raise ValueError(f"typed_proto: unsupported dtype {dt}")
    return p


def tensor_proto(t, encoding):
    if "proto_b64" in t:
        p = tensor_pb2.TensorProto()
        p.ParseFromString(base64.b64decode(t["proto_b64"]))
        return p
    arr = to_np(t)
    if encoding == "typed":
        return typed_proto(arr, t.get("typed_count"))
    return tf.make_tensor_proto(arr)


def proto_fields(p):
    """Which data fields a TensorProto uses (to check tensor_content vs typed fields)."""
    return sorted(f.name for f, _ in p.ListFields() if f.name not in ("dtype", "tensor_shape"))


# ----------------------------------------------------------------------------------------------
# channels

_channels = {}
_tritons = {}


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def channel(c):
    """The channel for c["target"], reused across commands; a new "channel" id opens a new one."""
    tls = c.get("tls")
    key = (c["target"], json.dumps(tls, sort_keys=True), c.get("channel", ""))
    ch = _channels.get(key)
    if ch is None:
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        if c.get("channel"):
            # its own connections: grpcio otherwise shares subchannels between channels to a target
            options.append(("grpc.use_local_subchannel_pool", 1))
        if tls:
            creds = grpc.ssl_channel_credentials(
                root_certificates=read_file(tls["ca"]),
                private_key=read_file(tls["key"]) if tls.get("key") else None,
                certificate_chain=read_file(tls["cert"]) if tls.get("cert") else None,
            )
            ch = grpc.secure_channel(c["target"], creds, options=options)
        else:
            ch = grpc.insecure_channel(c["target"], options=options)
        _channels[key] = ch
    return ch


def triton(c):
    tls = c.get("tls")
    key = (c["target"], json.dumps(tls, sort_keys=True))
    client = _tritons.get(key)
    if client is None:
        if tls:
            client = tgrpc.InferenceServerClient(
                url=c["target"],
                ssl=True,
                root_certificates=tls["ca"],
                private_key=tls.get("key"),
                certificate_chain=tls.get("cert"),
            )
        else:
            client = tgrpc.InferenceServerClient(url=c["target"])
        _tritons[key] = client
    return client


def set_spec(spec, c):
    spec.name = c["model"]
    if "version" in c:
        spec.version.value = c["version"]
    if "label" in c:
        spec.version_label = c["label"]
    if "signature" in c:
        spec.signature_name = c["signature"]


def to_dict(msg):
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def examples_input(inp, c):
    def example(features):
        return tf.train.Example(
            features=tf.train.Features(
                feature={k: tf.train.Feature(float_list=tf.train.FloatList(value=v if isinstance(v, list) else [v])) for k, v in features.items()}
            )
        )

    if "context" in c:
        inp.example_list_with_context.context.CopyFrom(example(c["context"]))
        for e in c["examples"]:
            inp.example_list_with_context.examples.add().CopyFrom(example(e))
    else:
        for e in c["examples"]:
            inp.example_list.examples.add().CopyFrom(example(e))


# ----------------------------------------------------------------------------------------------
# ops


def op_predict(c):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel(c))
    req = predict_pb2.PredictRequest()
    if not c.get("no_model_spec"):
        set_spec(req.model_spec, c)
    for k, t in c.get("inputs", {}).items():
        req.inputs[k].CopyFrom(tensor_proto(t, c.get("encoding", "make_tensor_proto")))
    req.output_filter.extend(c.get("output_filter", []))
    resp = stub.Predict(req, timeout=c.get("timeout", 60))
    return {
        "outputs": {k: from_np(tf.make_ndarray(v)) for k, v in resp.outputs.items()},
        "fields": {k: proto_fields(v) for k, v in resp.outputs.items()},
        # what clients that skip make_ndarray read (NaN / ±inf as "nan" / "inf" / "-inf": JSON has none)
        "float_val": {k: [f if math.isfinite(f) else str(f) for f in v.float_val] for k, v in resp.outputs.items()},
        "model_spec": to_dict(resp.model_spec),
    }


def op_metadata(c):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel(c))
    req = get_model_metadata_pb2.GetModelMetadataRequest()
    if not c.get("no_model_spec"):
        set_spec(req.model_spec, c)
    req.metadata_field.extend(c.get("fields", ["signature_def"]))
    resp = stub.GetModelMetadata(req, timeout=30)
    any_msg = resp.metadata["signature_def"]
    sdm = get_model_metadata_pb2.SignatureDefMap()
    unpacked = any_msg.Unpack(sdm)
    return {
        "type_url": any_msg.type_url,
        "unpacked": unpacked,
        "signature_def": to_dict(sdm).get("signature_def", {}),
        "model_spec": to_dict(resp.model_spec),
    }


def op_status(c):
    stub = model_service_pb2_grpc.ModelServiceStub(channel(c))
    req = get_model_status_pb2.GetModelStatusRequest()
    if not c.get("no_model_spec"):
        set_spec(req.model_spec, c)
    resp = stub.GetModelStatus(req, timeout=30)
    return {"status": to_dict(resp), "states": [s.state for s in resp.model_version_status]}


def op_reload(c):
    from tensorflow_serving.apis import model_management_pb2

    stub = model_service_pb2_grpc.ModelServiceStub(channel(c))
    req = model_management_pb2.ReloadConfigRequest()
    for m in c.get("models", []):
        cfg = req.config.model_config_list.config.add()
        cfg.name = m["name"]
        cfg.base_path = m["base_path"]
        cfg.model_platform = "tensorflow"
    resp = stub.HandleReloadConfigRequest(req, timeout=60, metadata=metadata(c))
    return {"response": to_dict(resp)}


def op_classify(c):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel(c))
    req = classification_pb2.ClassificationRequest()
    set_spec(req.model_spec, c)
    examples_input(req.input, c)
    resp = stub.Classify(req, timeout=30)
    return {"result": to_dict(resp.result), "model_spec": to_dict(resp.model_spec)}


def op_regress(c):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel(c))
    req = regression_pb2.RegressionRequest()
    set_spec(req.model_spec, c)
    examples_input(req.input, c)
    resp = stub.Regress(req, timeout=30)
    return {"values": [r.value for r in resp.result.regressions], "model_spec": to_dict(resp.model_spec)}


def op_multi_inference(c):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel(c))
    req = inference_pb2.MultiInferenceRequest()
    for task in c["tasks"]:
        t = req.tasks.add()
        set_spec(t.model_spec, {"model": task.get("model", c["model"]), "signature": task["signature"]})
        t.method_name = task["method"]
    examples_input(req.input, c)
    resp = stub.MultiInference(req, timeout=30)
    return {"results": [to_dict(r) for r in resp.results]}


def op_profile_trace(c):
    """tf.profiler.experimental.client.trace against the server (blocks for duration_ms), then the
    XSpace files it left under logdir and the names of the events in them."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=c.get("host_tracer_level", 2))
    tf.profiler.experimental.client.trace(
        c["service_addr"], c["logdir"], c["duration_ms"], num_tracing_attempts=c.get("attempts", 3), options=options
    )
    files, names = [], set()
    for root, _, found in os.walk(c["logdir"]):
        for f in found:
            if not f.endswith(".xplane.pb"):
                continue
            path = os.path.join(root, f)
            files.append(path)
            space = xplane_pb2.XSpace()
            with open(path, "rb") as fh:
                space.ParseFromString(fh.read())
            for plane in space.planes:
                for line in plane.lines:
                    for event in line.events:
                        names.add(plane.event_metadata[event.metadata_id].name)
    return {"files": sorted(files), "event_names": sorted(names)}


def op_raw_unary(c):
    """A unary call with raw request bytes (for services without generated stubs here)."""
    call = channel(c).unary_unary(c["method"], request_serializer=None, response_deserializer=None)
    resp = call(base64.b64decode(c.get("request_b64", "")), timeout=c.get("timeout", 30))
    return {"response_b64": base64.b64encode(resp).decode()}


def op_health(c):
    # grpc_health is not installed: a raw call with hand-made messages (field 1 in both)
    call = channel(c).unary_unary("/grpc.health.v1.Health/Check")
    service = c.get("service", "").encode()
    req = (b"\x0a" + bytes([len(service)]) + service) if service else b""
    resp = call(req, timeout=10)
    return {"status": resp[1] if len(resp) >= 2 else 0}


def op_triton_live(c):
    return {"live": triton(c).is_server_live()}


def op_triton_ready(c):
    return {"ready": triton(c).is_server_ready()}


def op_triton_model_ready(c):
    return {"ready": triton(c).is_model_ready(c["model"], c.get("version", ""))}


def op_triton_server_metadata(c):
    return {"metadata": triton(c).get_server_metadata(as_json=True)}


def op_triton_model_metadata(c):
    return {"metadata": triton(c).get_model_metadata(c["model"], c.get("version", ""), as_json=True)}


def op_triton_infer(c):
    client = triton(c)
    inputs = []
    for name, t in c["inputs"].items():
        arr = to_np(t)
        inp = tgrpc.InferInput(name, list(arr.shape), t.get("datatype") or np_to_triton_dtype(arr.dtype))
        inp.set_data_from_numpy(arr)
        inputs.append(inp)
    outputs = [tgrpc.InferRequestedOutput(n) for n in c.get("outputs", [])] or None
    kwargs = {}
    if "parameters" in c:
        kwargs["parameters"] = c["parameters"]
    if "timeout" in c:
        kwargs["client_timeout"] = c["timeout"]
    res = client.infer(c["model"], inputs, model_version=c.get("version", ""), outputs=outputs, request_id=c.get("id", ""), **kwargs)
    resp = res.get_response()
    return {
        "outputs": {o.name: from_np(res.as_numpy(o.name)) for o in resp.outputs},
        "order": [o.name for o in resp.outputs],
        "model_name": resp.model_name,
        "model_version": resp.model_version,
        "id": resp.id,
    }


def metadata(c):
    """Request metadata from c["metadata"] ({name: value}), or None."""
    md = c.get("metadata")
    return list(md.items()) if md else None


def op_triton_repository_index(c):
    """tritonclient's get_model_repository_index (as JSON: empty fields are left out)."""
    return {"index": triton(c).get_model_repository_index(headers=c.get("metadata"), as_json=True).get("models", [])}


def op_triton_repository_index_raw(c):
    """RepositoryIndex through Triton's stub, for the fields tritonclient does not set (ready, repository_name)."""
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel(c))
    req = service_pb2.RepositoryIndexRequest(repository_name=c.get("repository_name", ""), ready=c.get("ready", False))
    resp = stub.RepositoryIndex(req, timeout=30)
    return {"models": [{"name": m.name, "version": m.version, "state": m.state, "reason": m.reason} for m in resp.models]}


def op_triton_statistics(c):
    """tritonclient.grpc get_inference_statistics, plus the typed message's fields (uint64 as ints)."""
    resp = triton(c).get_inference_statistics(c.get("model", ""), c.get("version", ""))
    return {"model_stats": [to_dict_ints(m) for m in resp.model_stats]}


def to_dict_ints(msg):
    """A message as a dict with every field present and uint64s as Python ints (not JSON strings)."""
    out = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.label == field.LABEL_REPEATED:
            out[field.name] = [to_dict_ints(v) if field.message_type else v for v in value]
        elif field.message_type:
            out[field.name] = to_dict_ints(value)
        else:
            out[field.name] = value
    return out


def op_triton_http_statistics(c):
    """tritonclient.http get_inference_statistics against the REST server (c["url"]: host:port)."""
    client = thttp.InferenceServerClient(url=c["url"])
    try:
        return {"stats": client.get_inference_statistics(c.get("model", ""), c.get("version", ""))}
    finally:
        client.close()


def op_triton_load(c):
    kwargs = {}
    if "config" in c:
        kwargs["config"] = c["config"]
    if "files_b64" in c:
        kwargs["files"] = {k: base64.b64decode(v) for k, v in c["files_b64"].items()}
    triton(c).load_model(c["model"], headers=c.get("metadata"), client_timeout=c.get("timeout", 120), **kwargs)
    return {}


def op_triton_unload(c):
    triton(c).unload_model(c["model"], headers=c.get("metadata"), unload_dependents=c.get("unload_dependents", False), client_timeout=c.get("timeout", 120))
    return {}


CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def op_triton_infer_typed(c):
    """ModelInfer with typed InferTensorContents (tritonclient always sends raw) via Triton's stub."""
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel(c))
    req = service_pb2.ModelInferRequest(model_name=c["model"], model_version=c.get("version", ""), id=c.get("id", ""))
    for k, v in c.get("parameters", {}).items():
        req.parameters[k].string_param = v
    for name, t in c["inputs"].items():
        arr = to_np(t)
        datatype = t.get("datatype") or np_to_triton_dtype(arr.dtype)
        inp = req.inputs.add(name=name, datatype=datatype, shape=list(arr.shape))
        values = arr.ravel().tolist()
        if "count" in t:
            values = values[: t["count"]]
        getattr(inp.contents, CONTENTS_FIELD[datatype]).extend(values)
    for n in c.get("outputs", []):
        req.outputs.add(name=n)
    resp = stub.ModelInfer(req, timeout=30)
    res = tgrpc.InferResult(resp)
    return {"outputs": {o.name: from_np(res.as_numpy(o.name)) for o in resp.outputs}}


def op_triton_stream(c):
    client = triton(c)
    results = []
    done = threading.Event()
    n = len(c["requests"])

    def callback(result, error):
        if error is not None:
            results.append({"error": str(error)})
        else:
            resp = result.get_response()
            results.append({"id": resp.id, "outputs": {o.name: from_np(result.as_numpy(o.name)) for o in resp.outputs}})
        if len(results) == n:
            done.set()

    client.start_stream(callback=callback)
    try:
        for r in c["requests"]:
            inputs = []
            for name, t in r["inputs"].items():
                arr = to_np(t)
                inp = tgrpc.InferInput(name, list(arr.shape), np_to_triton_dtype(arr.dtype))
                inp.set_data_from_numpy(arr)
                inputs.append(inp)
            client.async_stream_infer(r.get("model", c["model"]), inputs, request_id=r.get("id", ""))
        done.wait(30)
    finally:
        client.stop_stream()
    return {"results": sorted(results, key=lambda r: r.get("id", ""))}


def op_encode_protos(c):
    """TensorProtos as Python builds them, and what TF's own parser (Tensor::FromProto) makes of them."""
    out = []
    for case in c["cases"]:
        if "proto_b64" in case:
            p = tensor_pb2.TensorProto()
            p.ParseFromString(base64.b64decode(case["proto_b64"]))
        else:
            p = tensor_proto(case["tensor"], case.get("encoding", "make_tensor_proto"))
        try:
            parsed = from_np(tf.io.parse_tensor(p.SerializeToString(), tf.as_dtype(p.dtype)).numpy())
            err = None
        except Exception as e:  # noqa: BLE001
            parsed, err = None, str(e).splitlines()[0][:200]
        out.append({"proto_b64": base64.b64encode(p.SerializeToString()).decode(), "parsed": parsed, "parse_error": err, "fields": proto_fields(p)})
    return {"protos": out}


def op_decode_protos(c):
    """What Python makes of TensorProtos jetserve encoded: tf.make_ndarray and TF's parser."""
    out = []
    for b64 in c["protos_b64"]:
        p = tensor_pb2.TensorProto()
        p.ParseFromString(base64.b64decode(b64))
        arr = tf.make_ndarray(p)
        parsed = tf.io.parse_tensor(p.SerializeToString(), tf.as_dtype(p.dtype)).numpy()
        out.append({"ndarray": from_np(arr), "parsed": from_np(parsed), "fields": proto_fields(p)})
    return {"tensors": out}


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith("op_")}


def main():
    # the protocol gets its own copy of fd 1; fd 1 itself goes to stderr, so stray prints — Python's
    # and C++'s (TF's profiler client writes to std::cout) — cannot corrupt it
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out.write(json.dumps({"ok": True, "ready": True, "tf": tf.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            c = json.loads(line)
            result = {"ok": True, **OPS[c["op"]](c)}
        except grpc.RpcError as e:
            result = {"ok": False, "code": e.code().name, "details": e.details()}
        except tgrpc.InferenceServerException as e:
            result = {"ok": False, "code": str(e.status()).replace("StatusCode.", ""), "details": e.message()}
        except Exception as e:  # noqa: BLE001
            result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(result) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
