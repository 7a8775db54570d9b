"""MLflow's side of bench/inference: the ONNX bytes Plinth deployed, saved as an MLflow model that
`mlflow models serve` serves on /invocations with the 50 feature values in the request
(dataframe_split).

    python mlflow_side.py save --model model.onnx --out DIR

A pyfunc wrapping onnxruntime rather than the mlflow.onnx flavour: mlflow.onnx feeds each
DataFrame column as a 1-D array, and the pipeline's graph takes [N, 1] inputs. The session is
made as Plinth makes its own (one intra-op and one inter-op thread, sequential, all graph
optimisations), so both sides run the same graph the same way. Prints one JSON line.
"""

import argparse
import json
import os
import shutil
import time

import mlflow.pyfunc
import numpy as np
import pandas as pd


class OnnxTabular(mlflow.pyfunc.PythonModel):
    """Rows of named float features in, the graph's `probability` out."""

    def load_context(self, context):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(context.artifacts["onnx"], so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def predict(self, context, model_input, params=None):
        feeds = {n: model_input[n].to_numpy(dtype=np.float32).reshape(-1, 1) for n in self.inputs}
        (probability,) = self.session.run(["probability"], feeds)
        return probability.reshape(-1)


def save(a):
    from mlflow.models import infer_signature

    shutil.rmtree(a.out, ignore_errors=True)
    t0 = time.perf_counter()
    import onnxruntime as ort

    names = [i.name for i in ort.InferenceSession(a.model, providers=["CPUExecutionProvider"]).get_inputs()]
    example = pd.DataFrame({n: [0.5, 1.5] for n in names}, dtype="float64")
    model = OnnxTabular()
    # A signature, as MLflow asks for: the scoring server then checks each request against it.
    mlflow.pyfunc.save_model(
        a.out,
        python_model=model,
        artifacts={"onnx": a.model},
        signature=infer_signature(example, np.zeros(2, dtype=np.float32)),
        input_example=example,
    )
    print(
        json.dumps(
            {
                "phase": "mlflow-save",
                "side": "mlflow",
                "inputs": len(names),
                "seconds": time.perf_counter() - t0,
                "bytes": os.path.getsize(os.path.join(a.out, "artifacts", os.path.basename(a.model))),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("phase", choices=["save"])
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    save(p.parse_args())
