/** What a model emitter reports to the compiler: each public output it wrote. */
import type { OutputName } from '../train/types';
import type { Shape } from './graph-builder';

/**
 * A graph output: the emitter has already written a float32 tensor named exactly `name`
 * (one of the `Predictions` names, reserved by the compiler); the compiler declares it as a
 * graph output of this shape (`'N'` for the batch dimension).
 */
export interface EmittedOutput {
  name: OutputName;
  shape: Shape;
}

/** The ONNX element type and shape of a graph input or output (what the manifest lists). */
export interface GraphValue {
  name: string;
  elementType: 'float32' | 'int64' | 'string';
  shape: Shape;
}
