/**
 * ONNX: Plinth's one model format. Compile fitted pipelines to one graph
 * ({@link compilePipeline}), run it with onnxruntime-node ({@link PipelineSession}), and
 * compare against the TypeScript reference ({@link evaluatePipeline}).
 */
export {
  compilePipeline,
  evaluatePipeline,
  validatePipelineSpec,
  outputsOf,
  PROBABILITY_OUTPUT,
  METADATA_KEYS,
  type PipelineSpec,
} from './compile';
export { PipelineSession, type PipelineSessionOptions } from './runtime';
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
