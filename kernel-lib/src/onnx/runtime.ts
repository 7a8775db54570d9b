/**
 * Runs a compiled pipeline with onnxruntime-node: the same code path in the notebook and in
 * the inference tier, so training-time and serving-time predictions cannot drift apart.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';

type Ort = typeof import('onnxruntime-node');

let ortModule: Ort | undefined;
/** Loaded on first use: importing kernel-lib should not load the native binding. */
function ort(): Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

/** Options for {@link PipelineSession.create}. */
export interface PipelineSessionOptions {
  /**
   * Threads used inside one operator. Default 1: pipeline graphs are small, so per-request
   * latency is lowest single-threaded and the inference tier scales by processes instead.
   */
  intraOpNumThreads?: number;
  /** Threads across independent operators (default 1; only used in parallel execution mode). */
  interOpNumThreads?: number;
  /** Graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
}

/**
 * A loaded pipeline graph, ready to score rows. Inputs are one column per feature; each column
 * is fed as a float32 tensor of shape [N, 1].
 *
 * onnxruntime-node blocks the event loop while it runs and is unsafe in worker_threads: keep
 * sessions in the main thread of a process and batch rows per call.
 *
 * @example
 * ```ts
 * import { compilePipeline, PipelineSession } from '@plinth/kernel-lib';
 * const session = await PipelineSession.create(compilePipeline(spec));
 * session.inputNames; // ['age', 'income']
 * const { probability } = await session.run({ age: [30, NaN], income: new Float64Array([61000, 12000]) });
 * await session.dispose();
 * ```
 */
export class PipelineSession {
  /** The graph's input names (the pipeline's public feature names), in graph order. */
  readonly inputNames: string[];
  /** The graph's output names (e.g. ['probability']). */
  readonly outputNames: string[];
  private readonly session: InferenceSession;

  private constructor(session: InferenceSession) {
    this.session = session;
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
  }

  /**
   * Loads ONNX bytes (e.g. from {@link compilePipeline} or the model repository).
   *
   * @example
   * ```ts
   * const session = await PipelineSession.create(bytes, { intraOpNumThreads: 4 });
   * ```
   */
  static async create(bytes: Uint8Array, options: PipelineSessionOptions = {}): Promise<PipelineSession> {
    const threads = options.intraOpNumThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 0)
      throw new Error(`intraOpNumThreads must be a non-negative integer, got ${threads}`);
    const session = await ort().InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      // Sequential execution: the graphs are chains, and it avoids a thread-pool hop.
      executionMode: 'sequential',
    });
    return new PipelineSession(session);
  }

  /**
   * Scores N rows. `inputs` must have exactly the session's input names, all of the same
   * length; NaN means missing. Returns each output as a Float32Array (e.g. `probability`).
   * Errors name the offending input.
   *
   * @example
   * ```ts
   * const { probability } = await session.run({ age: [30, 51], income: [61000, NaN] });
   * probability[1]; // P(y = 1) for the second row
   * ```
   */
  async run(inputs: Record<string, ArrayLike<number>>): Promise<Record<string, Float32Array>> {
    const missing = this.inputNames.filter((n) => !Object.prototype.hasOwnProperty.call(inputs, n));
    const unknown = Object.keys(inputs).filter((n) => !this.inputNames.includes(n));
    if (missing.length > 0 || unknown.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0)
        parts.push(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')}`);
      if (unknown.length > 0)
        parts.push(`unknown input${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}`);
      throw new Error(`PipelineSession.run: ${parts.join('; ')} (expected: ${this.inputNames.join(', ')})`);
    }
    let n = -1;
    let first = '';
    for (const name of this.inputNames) {
      const column = inputs[name];
      if (column === null || typeof column !== 'object' || typeof column.length !== 'number') {
        throw new Error(`PipelineSession.run: input '${name}' is not an array of numbers`);
      }
      if (n < 0) {
        n = column.length;
        first = name;
      } else if (column.length !== n) {
        throw new Error(
          `PipelineSession.run: input '${name}' has ${column.length} rows but '${first}' has ${n}; all inputs must have the same length`,
        );
      }
    }
    if (n === 0) {
      return Object.fromEntries(this.outputNames.map((o) => [o, new Float32Array(0)]));
    }
    const { Tensor: TensorCtor } = ort();
    const feeds: Record<string, Tensor> = {};
    for (const name of this.inputNames) {
      const column = inputs[name];
      // A Float32Array is passed through without a copy.
      const data = column instanceof Float32Array ? column : Float32Array.from(column);
      feeds[name] = new TensorCtor('float32', data, [n, 1]);
    }
    const results = await this.session.run(feeds);
    const out: Record<string, Float32Array> = {};
    for (const name of this.outputNames) {
      const tensor = results[name];
      if (tensor.type !== 'float32')
        throw new Error(`PipelineSession.run: output '${name}' is ${tensor.type}, expected float32`);
      out[name] = tensor.data as Float32Array;
    }
    return out;
  }

  /**
   * Releases the native session. The session cannot be used afterwards.
   *
   * @example
   * ```ts
   * await session.dispose();
   * ```
   */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}
