"""Checks an ONNX model with the official checker and scores it with Python onnxruntime.

usage: check_model.py MODEL.onnx INPUTS.f32 N OUTPUT.f32

INPUTS.f32 holds the graph inputs' columns (graph input order) as little-endian float32,
column after column, N rows each. Writes the first output, float32 little-endian, to OUTPUT.f32
and prints a JSON summary on stdout.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> None:
    model_path, inputs_path, n, output_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    data = np.fromfile(inputs_path, dtype="<f4").reshape(len(names), n)
    feeds = {name: data[j].reshape(n, 1) for j, name in enumerate(names)}
    out = sess.run(None, feeds)[0]
    np.asarray(out, dtype="<f4").reshape(-1).tofile(output_path)
    print(json.dumps({
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "ir_version": model.ir_version,
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "inputs": names,
        "outputs": [o.name for o in sess.get_outputs()],
        "output_shape": list(np.shape(out)),
    }))


if __name__ == "__main__":
    main()
