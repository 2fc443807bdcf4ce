"""Drives an mlpipe model server with NVIDIA's unmodified Python clients (pip: tritonclient[http,grpc]).

Usage: python tritonclient_check.py HTTP_URL GRPC_URL
Expects the repository of test/serving/tritonclient.test.ts: 'small' (FP32 [-1,4] -> [-1,3]) and
'identity' (FP32, INT64, BOOL, BYTES, FP16 identities). Prints one JSON line with what it saw; exits
non-zero on the first mismatch.
"""
import json
import queue
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def identity_inputs(module, binary):
    arrays = {
        "f32": np.array([[1.5, -2.0]], dtype=np.float32),
        "i64": np.array([[2**40, -7]], dtype=np.int64),
        "b": np.array([[True, False]], dtype=np.bool_),
        "s": np.array([["héllo".encode(), b"world"]], dtype=np.object_),
        "h": np.array([[0.5, -4.0]], dtype=np.float16),
    }
    dtypes = {"f32": "FP32", "i64": "INT64", "b": "BOOL", "s": "BYTES", "h": "FP16"}
    inputs = []
    for name, arr in arrays.items():
        inp = module.InferInput(name, list(arr.shape), dtypes[name])
        if module is httpclient:
            inp.set_data_from_numpy(arr, binary_data=binary)
        else:
            inp.set_data_from_numpy(arr)
        inputs.append(inp)
    return arrays, inputs


def main():
    http_url, grpc_url = sys.argv[1], sys.argv[2]
    seen = {}
    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)

    h = httpclient.InferenceServerClient(url=http_url)
    check(h.is_server_live() and h.is_server_ready(), "http live/ready")
    check(h.is_model_ready("small"), "http model ready")
    meta = h.get_model_metadata("small")
    check(meta["inputs"][0]["shape"] == [-1, 4], f"http metadata {meta}")
    cfg = h.get_model_config("small")
    check(cfg["max_batch_size"] > 0, f"http config {cfg}")
    results = {}
    for binary in (True, False):
        inp = httpclient.InferInput("input", [2, 4], "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        out = httpclient.InferRequestedOutput("probabilities", binary_data=binary)
        res = h.infer("small", [inp], outputs=[out])
        results[binary] = res.as_numpy("probabilities")
        check(results[binary].shape == (2, 3), f"http shape {results[binary].shape}")
        check(np.allclose(results[binary].sum(axis=1), 1.0, atol=1e-5), "softmax rows sum to 1")
    check(np.allclose(results[True], results[False]), "binary and JSON agree")
    for binary in (True, False):
        inp = httpclient.InferInput("input", [2, 4], "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        out = httpclient.InferRequestedOutput("probabilities", binary_data=binary, class_count=2)
        top = h.infer("small", [inp], outputs=[out]).as_numpy("probabilities")
        check(top.shape == (2, 2), f"http classification shape {top.shape}")
        # BYTES come back as bytes from binary outputs and as str from JSON ones.
        best = [int((e if isinstance(e, str) else e.decode()).split(":")[1]) for e in top[:, 0]]
        check(best == results[True].argmax(axis=1).tolist(), f"http classification {top}")
    seen["x"] = x.tolist()
    seen["http_small"] = results[True].tolist()
    for binary in (True, False):
        arrays, inputs = identity_inputs(httpclient, binary)
        res = h.infer("identity", inputs)
        for name, arr in arrays.items():
            got = res.as_numpy(f"{name}_out")
            check(got is not None and got.shape == arr.shape, f"http identity {name} shape")
            check((got == arr).all(), f"http identity {name}: {got} != {arr}")
    stats = h.get_inference_statistics("small")
    check(stats["model_stats"][0]["inference_count"] >= 4, f"http stats {stats}")
    try:
        h.infer("nope", [inp])
        raise AssertionError("unknown model must fail")
    except InferenceServerException as e:
        seen["http_unknown_model"] = e.message()

    g = grpcclient.InferenceServerClient(url=grpc_url)
    check(g.is_server_live() and g.is_server_ready(), "grpc live/ready")
    check(g.is_model_ready("small"), "grpc model ready")
    gmeta = g.get_model_metadata("small", as_json=True)
    check(gmeta["inputs"][0]["datatype"] == "FP32", f"grpc metadata {gmeta}")
    gcfg = g.get_model_config("small", as_json=True)
    check(gcfg["config"]["input"][0]["name"] == "input", f"grpc config {gcfg}")
    smeta = g.get_server_metadata(as_json=True)
    check(smeta["name"] == "mlpipe", f"grpc server metadata {smeta}")
    ginp = grpcclient.InferInput("input", [2, 4], "FP32")
    ginp.set_data_from_numpy(x)
    gres = g.infer("small", [ginp], outputs=[grpcclient.InferRequestedOutput("probabilities")])
    check(np.allclose(gres.as_numpy("probabilities"), results[True]), "grpc agrees with http")
    gtop = g.infer("small", [ginp], outputs=[grpcclient.InferRequestedOutput("probabilities", class_count=1)]).as_numpy("probabilities")
    check([int(e.decode().split(":")[1]) for e in gtop[:, 0]] == results[True].argmax(axis=1).tolist(), f"grpc classification {gtop}")
    arrays, inputs = identity_inputs(grpcclient, True)
    gid = g.infer("identity", inputs)
    for name, arr in arrays.items():
        got = gid.as_numpy(f"{name}_out")
        check((got == arr).all(), f"grpc identity {name}: {got} != {arr}")
    gstats = g.get_inference_statistics("small", as_json=True)
    check(int(gstats["model_stats"][0]["inference_count"]) >= 6, f"grpc stats {gstats}")
    try:
        bad = grpcclient.InferInput("input", [1, 3], "FP32")
        bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
        g.infer("small", [bad])
        raise AssertionError("wrong shape must fail")
    except InferenceServerException as e:
        seen["grpc_bad_shape"] = {"status": e.status(), "message": e.message()}

    replies = queue.Queue()
    g.start_stream(callback=lambda result, error: replies.put((result, error)))
    for i in range(2):
        sinp = grpcclient.InferInput("input", [1, 4], "FP32")
        sinp.set_data_from_numpy(x[i : i + 1])
        g.async_stream_infer("small", [sinp], request_id=f"row{i}")
    bad = grpcclient.InferInput("input", [1, 3], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
    g.async_stream_infer("small", [bad], request_id="bad")
    g.stop_stream()
    stream = {}
    while not replies.empty():
        result, error = replies.get()
        if error is not None:
            stream["error"] = error.message()
            continue
        rid = result.get_response().id
        check(np.allclose(result.as_numpy("probabilities")[0], results[True][int(rid[-1])], atol=1e-6), f"stream {rid}")
        stream[rid] = "ok"
    seen["grpc_stream"] = stream
    seen["shared_memory"] = shared_memory_round_trips(h, g, x, results[True])
    print(json.dumps(seen))


def shared_memory_round_trips(h, g, x, expected):
    """Input and output through POSIX shared memory, registered over HTTP and then over gRPC."""
    import tritonclient.utils.shared_memory as shm

    region = shm.create_shared_memory_region("mlpipe_io", "/mlpipe_tritonclient_io", 64)
    try:
        shm.set_shared_memory_region(region, [x])
        done = []
        for client, module in ((h, httpclient), (g, grpcclient)):
            client.unregister_system_shared_memory()
            client.register_system_shared_memory("mlpipe_io", "/mlpipe_tritonclient_io", 64)
            inp = module.InferInput("input", [2, 4], "FP32")
            inp.set_shared_memory("mlpipe_io", 32)
            out = module.InferRequestedOutput("probabilities")
            out.set_shared_memory("mlpipe_io", 24, offset=32)
            client.infer("small", [inp], outputs=[out])
            got = shm.get_contents_as_numpy(region, np.float32, [2, 3], offset=32)
            check(np.allclose(got, expected, atol=1e-6), f"shared memory output {got}")
            status = client.get_system_shared_memory_status()
            names = [r["name"] for r in status] if module is httpclient else list(status.regions.keys())
            check(names == ["mlpipe_io"], f"shared memory status {status}")
            done.append("http" if module is httpclient else "grpc")
            client.unregister_system_shared_memory("mlpipe_io")
        return done
    finally:
        shm.destroy_shared_memory_region(region)


if __name__ == "__main__":
    main()
