"""Loads and unloads models on an mlpipe server in explicit model control mode with NVIDIA's unmodified
Python clients (pip: tritonclient[http,grpc]).

Usage: python tritonclient_model_control.py HTTP_URL GRPC_URL
Expects models 'iris_a' (loaded at start) and 'iris_b' (not loaded) in the repository. Prints one JSON
line with what it saw; exits non-zero on the first mismatch.
"""
import json
import sys

import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    http_url, grpc_url = sys.argv[1], sys.argv[2]
    seen = {}
    h = httpclient.InferenceServerClient(url=http_url)
    check(h.is_model_ready("iris_a") and not h.is_model_ready("iris_b"), "http startup models")
    index = {m["name"]: m for m in h.get_model_repository_index()}
    check(set(index) == {"iris_a", "iris_b"} and index["iris_a"]["state"] == "READY", f"http index {index}")
    h.load_model("iris_b")
    check(h.is_model_ready("iris_b"), "http load")
    h.unload_model("iris_a")
    check(not h.is_model_ready("iris_a"), "http unload")
    try:
        h.load_model("nope")
        raise AssertionError("loading a missing model must fail")
    except InferenceServerException as e:
        seen["http_load_missing"] = e.message()

    g = grpcclient.InferenceServerClient(url=grpc_url)
    g.load_model("iris_a")
    check(g.is_model_ready("iris_a"), "grpc load")
    g.unload_model("iris_b")
    check(not g.is_model_ready("iris_b"), "grpc unload")
    states = {m.name: m.state for m in g.get_model_repository_index().models}
    seen["grpc_index"] = states
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
