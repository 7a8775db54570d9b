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
 * Input columns by input name: numbers for float32 inputs (NaN, null or undefined = missing), and
 * strings for string inputs (null, undefined or '' = missing).
 */
export type PipelineInputs = Record<string, ArrayLike<number> | ArrayLike<string | null | undefined>>;

/**
 * One output of {@link PipelineSession.runTyped}, flat in row-major order with its dims
 * (`dims[0]` is the number of rows): float32 scores, int64 values (e.g. a `decision`, class
 * indices) converted to exact numbers, or strings.
 */
export type OutputTensor =
  | { type: 'float32'; dims: number[]; data: Float32Array }
  | { type: 'int64'; dims: number[]; data: Float64Array }
  | { type: 'string'; dims: number[]; data: string[] };

/** One row's value of an output: a number or string ([N] outputs), or a list of them ([N, k] outputs). */
export type OutputValue = number | string | number[] | string[];

/**
 * Splits {@link PipelineSession.runTyped}'s outputs into one object per row: an [N] output
 * gives a number or string per row, an [N, k] output a list of k (e.g. `probabilities`,
 * `top_k_items`). NaN stays NaN (JSON writes it as null).
 *
 * @example
 * ```ts
 * const rows = outputRows(await session.runTyped(inputs));
 * rows[0]; // { probabilities: [0.1, 0.7, 0.2], label: 1, top_k_items: ['b', 'c'] }
 * ```
 */
export function outputRows(outputs: Record<string, OutputTensor>): Record<string, OutputValue>[] {
  const entries = Object.entries(outputs);
  const n = entries.length > 0 ? entries[0][1].dims[0] : 0;
  const rows: Record<string, OutputValue>[] = Array.from({ length: n }, () => ({}));
  for (const [name, t] of entries) {
    if (t.dims[0] !== n) throw new Error(`outputRows: output '${name}' has ${t.dims[0]} rows, expected ${n}`);
    const width = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = t.data as ArrayLike<number | string>;
    for (let i = 0; i < n; i++) {
      rows[i][name] =
        t.dims.length === 1
          ? data[i]
          : (Array.from({ length: width }, (_, c) => data[i * width + c]) as number[] | string[]);
    }
  }
  return rows;
}

/** int64 outputs as numbers; values beyond 2^53 would not be exact. */
function int64ToNumbers(name: string, data: BigInt64Array): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
      throw new Error(`PipelineSession: output '${name}' holds ${v}, which is not exact as a number`);
    out[i] = Number(v);
  }
  return out;
}

/**
 * A loaded pipeline graph, ready to score rows. Inputs are one column per feature, fed as a
 * float32 tensor of shape [N, 1], or a tensor(string) [N, 1] for a string input.
 *
 * onnxruntime-node blocks the event loop while it runs and is unsafe in worker_threads: keep
 * sessions in the main thread of a process and batch rows per call.
 *
 * @example
 * ```ts
 * import { compilePipeline, PipelineSession } from '@plinth/kernel-lib';
 * const session = await PipelineSession.create(compilePipeline(spec));
 * session.inputNames; // ['age', 'income', 'country']
 * session.inputTypes; // { age: 'float32', income: 'float32', country: 'string' }
 * const { probability } = await session.run({ age: [30, NaN], income: new Float64Array([61000, 12000]), country: ['fr', null] });
 * await session.dispose();
 * ```
 */
export class PipelineSession {
  /** The graph's input names (the pipeline's public feature names), in graph order. */
  readonly inputNames: string[];
  /** The graph's output names (e.g. ['probability']). */
  readonly outputNames: string[];
  /** Each input's tensor element type: 'float32', or 'string' for a string input. */
  readonly inputTypes: Record<string, string>;
  /** Each output's tensor element type: 'float32', 'int64' or 'string'. */
  readonly outputTypes: Record<string, string>;
  /** Each output's dims as the graph declares them: -1 where a dim is dynamic (the rows). */
  readonly outputShapes: Record<string, number[]>;
  private readonly session: InferenceSession;

  private constructor(session: InferenceSession) {
    this.session = session;
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    const types = (list: readonly InferenceSession.ValueMetadata[]) =>
      Object.fromEntries(list.map((m) => [m.name, m.isTensor ? m.type : 'non-tensor']));
    this.inputTypes = types(session.inputMetadata);
    this.outputTypes = types(session.outputMetadata);
    this.outputShapes = Object.fromEntries(
      session.outputMetadata.map((m) => [
        m.name,
        m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
      ]),
    );
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
   * Scores N rows and returns every output as a Float32Array (e.g. `probability`); int64
   * outputs (a `decision`, top-k class indices) are converted to float32, exactly. A graph with
   * string outputs (labels, item ids, class names) needs {@link runTyped}, and `run` says so.
   *
   * `inputs` must have exactly the session's input names, all of the same length: numbers for
   * float32 inputs (NaN = missing), strings for string inputs (null or '' = missing). Errors name
   * the offending input.
   *
   * @example
   * ```ts
   * const { probability } = await session.run({ age: [30, 51], income: [61000, NaN] });
   * probability[1]; // P(y = 1) for the second row
   * ```
   */
  async run(inputs: PipelineInputs): Promise<Record<string, Float32Array>> {
    const strings = this.outputNames.filter((o) => this.outputTypes[o] === 'string');
    if (strings.length > 0)
      throw new Error(
        `PipelineSession.run: output${strings.length > 1 ? 's' : ''} ${strings.map((o) => `'${o}'`).join(', ')} ` +
          `${strings.length > 1 ? 'are' : 'is'} a string tensor; use runTyped() for graphs with string outputs`,
      );
    const typed = await this.runTyped(inputs);
    const out: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(typed)) {
      if (t.type === 'float32') out[name] = t.data;
      else if (t.type === 'int64') {
        const f = Float32Array.from(t.data);
        const inexact = t.data.findIndex((v, i) => f[i] !== v);
        if (inexact >= 0)
          throw new Error(
            `PipelineSession.run: output '${name}' holds ${t.data[inexact]}, not exact in float32; use runTyped()`,
          );
        out[name] = f;
      }
    }
    return out;
  }

  /**
   * Scores N rows and returns every output with its element type and dims: float32 as a
   * Float32Array, int64 as exact numbers (Float64Array), strings as string[]. Inputs as for
   * {@link run}. {@link outputRows} splits the result into one object per row.
   *
   * @example
   * ```ts
   * const { decision, probability } = await session.runTyped({ age: [30, 51], country: ['fr', null] });
   * decision.type; // 'string' (a threshold post-processor with labels)
   * decision.data; // ['review', 'keep']
   * ```
   */
  async runTyped(inputs: PipelineInputs): Promise<Record<string, OutputTensor>> {
    const n = this.checkInputs(inputs);
    if (n === 0) return this.emptyOutputs();
    const { Tensor: TensorCtor } = ort();
    const feeds: Record<string, Tensor> = {};
    for (const name of this.inputNames) {
      const column = inputs[name];
      if (this.inputTypes[name] === 'string') {
        feeds[name] = new TensorCtor('string', stringColumn(name, column), [n, 1]);
      } else {
        // A Float32Array is passed through without a copy.
        const data = column instanceof Float32Array ? column : numberColumn(name, column);
        feeds[name] = new TensorCtor('float32', data, [n, 1]);
      }
    }
    const results = await this.session.run(feeds);
    const out: Record<string, OutputTensor> = {};
    for (const name of this.outputNames) {
      const tensor = results[name];
      const dims = [...tensor.dims];
      if (tensor.type === 'float32') out[name] = { type: 'float32', dims, data: tensor.data as Float32Array };
      else if (tensor.type === 'int64')
        out[name] = { type: 'int64', dims, data: int64ToNumbers(name, tensor.data as BigInt64Array) };
      else if (tensor.type === 'string') out[name] = { type: 'string', dims, data: tensor.data as string[] };
      else throw new Error(`PipelineSession: output '${name}' is ${tensor.type}, expected float32, int64 or string`);
    }
    return out;
  }

  /** Checks names and lengths; returns the number of rows. */
  private checkInputs(inputs: PipelineInputs): number {
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
        throw new Error(
          `PipelineSession.run: input '${name}' is not an array of ${this.inputTypes[name] === 'string' ? 'strings' : 'numbers'}`,
        );
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
    return Math.max(n, 0);
  }

  /** Zero rows: empty outputs of the declared types, without running the graph. */
  private emptyOutputs(): Record<string, OutputTensor> {
    return Object.fromEntries(
      this.session.outputMetadata.map((m): [string, OutputTensor] => {
        const dims = m.isTensor ? m.shape.map((d, k) => (k === 0 || typeof d !== 'number' ? 0 : d)) : [0];
        const type = m.isTensor ? m.type : 'float32';
        return [
          m.name,
          type === 'string'
            ? { type: 'string', dims, data: [] }
            : type === 'int64'
              ? { type: 'int64', dims, data: new Float64Array(0) }
              : { type: 'float32', dims, data: new Float32Array(0) },
        ];
      }),
    );
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

/** A string input's values for a tensor(string): null and undefined become '' (missing). */
function stringColumn(name: string, column: ArrayLike<unknown>): string[] {
  return Array.from(column, (v, i) => {
    if (v === null || v === undefined) return '';
    if (typeof v !== 'string')
      throw new Error(
        `PipelineSession.run: input '${name}' takes strings (null = missing); row ${i} is ${JSON.stringify(v)}`,
      );
    return v;
  });
}

/** A float32 input's values: typed arrays as they are; in a plain array null and undefined are NaN. */
function numberColumn(name: string, column: ArrayLike<unknown>): Float32Array {
  if (ArrayBuffer.isView(column)) return Float32Array.from(column as ArrayLike<number>);
  return Float32Array.from(column, (v, i) => {
    if (v === null || v === undefined) return NaN;
    if (typeof v !== 'number' && typeof v !== 'boolean')
      throw new Error(
        `PipelineSession.run: input '${name}' takes numbers (NaN = missing); row ${i} is ${JSON.stringify(v)}`,
      );
    return Number(v);
  });
}
