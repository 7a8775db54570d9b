/**
 * ONNX: Plinth's one model format. Compile fitted pipelines to one graph
 * ({@link compilePipeline}), run it with onnxruntime-node ({@link PipelineSession}), and
 * compare against the TypeScript reference ({@link evaluatePipeline}).
 */
export {
  compilePipeline,
  compilePipelineGraph,
  evaluatePipeline,
  validatePipelineSpec,
  graphOutputs,
  isStringInput,
  outputsOf,
  PROBABILITY_OUTPUT,
  METADATA_KEYS,
  type CompiledGraph,
  type PipelineColumn,
  type PipelineOutputs,
  type PipelineSpec,
  type PipelineSpecInput,
} from './compile';
export type { GraphValue } from './emitted';
export { modelInfo, modelOutputs, type ModelInfo } from './model-info';
export {
  applyPostprocessor,
  postprocessorOutputs,
  validatePostprocessor,
  POSTPROCESSOR_OUTPUTS,
  type PostprocessorOutputs,
} from './emit-postprocess';
export { PipelineSpecError } from './spec-error';
export {
  PipelineSession,
  outputRows,
  type OutputTensor,
  type OutputValue,
  type PipelineInputs,
  type PipelineSessionOptions,
} from './runtime';
export {
  GraphBuilder,
  attr,
  AI_ONNX_OPSET,
  AI_ONNX_ML_OPSET,
  ML_DOMAIN,
  IR_VERSION,
  PRODUCER_NAME,
  PRODUCER_VERSION,
  type AttributeValue,
  type GraphBuilderOptions,
  type NodeOptions,
  type Shape,
} from './graph-builder';
export {
  encodeModel,
  decodeModel,
  DataType,
  AttributeType,
  type AttributeJson,
  type AttributeTypeValue,
  type DataTypeValue,
  type DimensionJson,
  type GraphJson,
  type ModelJson,
  type NodeJson,
  type OperatorSetIdJson,
  type StringStringEntryJson,
  type TensorJson,
  type TensorShapeJson,
  type TensorTypeJson,
  type TypeJson,
  type ValueInfoJson,
} from './proto';
