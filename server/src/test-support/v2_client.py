"""Drives Plinth's inference tier with Triton's own v2 HTTP client (tritonclient[http]).

Reads a JSON job on stdin: {"url": "127.0.0.1:port", "model": name, "version": "2",
"keys": {"user_id": [...], "product_id": [...]}}, and prints one JSON document with what
each call returned, errors included as {"error": status, "message": ...}.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def call(fn):
    try:
        return fn()
    except InferenceServerException as e:
        return {"error": e.status(), "message": e.message()}


def main():
    job = json.load(sys.stdin)
    c = httpclient.InferenceServerClient(url=job["url"])
    model, version = job["model"], job["version"]
    keys = {k: np.array(v, dtype=np.int64) for k, v in job["keys"].items()}

    def inputs(binary):
        out = []
        for name, arr in keys.items():
            i = httpclient.InferInput(name, list(arr.shape), "INT64")
            i.set_data_from_numpy(arr, binary_data=binary)
            out.append(i)
        return out

    def infer(binary, **kw):
        def run():
            r = c.infer(
                model,
                inputs(binary),
                outputs=[httpclient.InferRequestedOutput("probability", binary_data=binary)],
                **kw,
            )
            p = r.as_numpy("probability")
            return {
                "probability": p.astype(float).tolist(),
                "dtype": str(p.dtype),
                "shape": list(p.shape),
                "response": {k: v for k, v in r.get_response().items() if k != "outputs"},
            }

        return call(run)

    rows = len(next(iter(keys.values())))
    unknown = httpclient.InferInput("colour", [rows], "INT64")
    unknown.set_data_from_numpy(np.ones(rows, dtype=np.int64))

    out = {
        "live": c.is_server_live(),
        "ready": c.is_server_ready(),
        "server": c.get_server_metadata(),
        "modelReady": c.is_model_ready(model),
        "versionReady": c.is_model_ready(model, version),
        "unknownModelReady": c.is_model_ready("no_such_model"),
        "metadata": call(lambda: c.get_model_metadata(model)),
        "binary": infer(True),
        "json": infer(False),
        "version": infer(True, model_version=version),
        "unknownModel": call(lambda: c.infer("no_such_model", inputs(True))),
        "unknownVersion": call(lambda: c.infer(model, inputs(True), model_version="999")),
        "unknownInput": call(lambda: c.infer(model, inputs(True) + [unknown])),
        "missingKey": call(lambda: c.infer(model, inputs(True)[:1])),
        "unknownOutput": call(
            lambda: c.infer(model, inputs(True), outputs=[httpclient.InferRequestedOutput("nope")])
        ),
        "liveAfter": c.is_server_live(),
    }
    json.dump(out, sys.stdout)


main()
