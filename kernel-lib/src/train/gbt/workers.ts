/**
 * Histogram construction on worker threads. Features are dealt out to threads in contiguous
 * shares; each feature's histogram is summed by one thread, in row order, with the same
 * loop as the single-threaded builder, so the model is bit-identical whatever the thread count.
 *
 * The training loop is synchronous, so the main thread hands out work through a shared control
 * block and blocks in Atomics.wait until the workers are done (Node allows this on its main
 * thread). The workers run {@link buildFeatureHistograms}'s own source text (eval workers), so
 * nothing depends on where the compiled files are: this works from the CommonJS build and from
 * the TypeScript sources under vitest alike.
 */
import { Worker } from 'node:worker_threads';
import type { BinnedFeatures } from './binning';
import {
  BIN_STRIDE,
  buildFeatureHistograms,
  buildHistograms,
  buildRowHistograms,
  leafGradients,
  useRowWise,
  type HistogramBuffers,
  type HistogramBuilder,
} from './histogram';

// Control block slots (Int32Array over a SharedArrayBuffer).
const SEQ = 0; // job number; workers wait on it
const DONE = 1; // workers finished with the current job
const READY = 2; // workers started
const ERROR = 3; // a worker failed
const EXIT = 4; // 1: workers should exit
const SLOT = 5;
const START = 6;
const END = 7;
const IDENTITY = 8;
const NFEAT = 9;
const CLS = 10;
const CTRL_SIZE = 16;

/** Below this many row-feature updates a job runs on the main thread alone (waking is dearer). */
const MIN_PARALLEL_WORK = 1 << 16;

/** Milliseconds to wait for a worker before giving up (a crashed worker never answers). */
const WAIT_MS = 120_000;

interface WorkerInit {
  thread: number;
  threads: number;
  n: number;
  ctrl: SharedArrayBuffer;
  bins: SharedArrayBuffer[];
  rows: SharedArrayBuffer;
  offset: Int32Array;
  numBins: Int32Array;
  idx: SharedArrayBuffer;
  g: SharedArrayBuffer;
  h: SharedArrayBuffer;
  og: SharedArrayBuffer;
  oh: SharedArrayBuffer;
  features: SharedArrayBuffer;
  hists: SharedArrayBuffer;
  histLength: number;
}

/** The worker's program: waits for jobs, builds its features' histograms, reports. */
function workerSource(): string {
  const fns = [buildFeatureHistograms, buildRowHistograms, useRowWise, buildHistograms].map((f) => f.toString());
  // A reference to module scope would silently give wrong sums in the worker: refuse it.
  for (const fn of fns)
    if (/\bexports\b|\brequire\b|\b\w+_1\.|__vite|\bBIN_STRIDE\b/.test(fn))
      throw new Error(`fitGbt: ${fn.slice(0, 40)}... is not self-contained; worker threads cannot run it`);
  return `'use strict';
const { workerData } = require('node:worker_threads');
${fns.join('\n')}
const d = workerData;
const ctrl = new Int32Array(d.ctrl);
const bins = d.bins.map((b) => new Uint8Array(b));
const data = { n: d.n, bins, rows: new Uint8Array(d.rows), offset: d.offset, numBins: d.numBins };
const idx = new Int32Array(d.idx);
const g = new Float64Array(d.g);
const h = new Float64Array(d.h);
const og = new Float64Array(d.og);
const oh = new Float64Array(d.oh);
const features = new Int32Array(d.features);
const hists = [];
for (let s = 0; s * d.histLength * 8 < d.hists.byteLength; s++) hists.push(new Float64Array(d.hists, s * d.histLength * 8, d.histLength));
Atomics.add(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
let seq = 0;
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seq);
  seq = Atomics.load(ctrl, ${SEQ});
  if (Atomics.load(ctrl, ${EXIT}) === 1) break;
  try {
    const identity = ctrl[${IDENTITY}] === 1;
    const cls = ctrl[${CLS}];
    const start = ctrl[${START}];
    const end = ctrl[${END}];
    const gc = identity ? g.subarray(cls * d.n, (cls + 1) * d.n) : og.subarray(start, end);
    const hc = identity ? h.subarray(cls * d.n, (cls + 1) * d.n) : oh.subarray(start, end);
    const hist = hists[ctrl[${SLOT}]];
    const nf = ctrl[${NFEAT}];
    const from = Math.floor((d.thread * nf) / d.threads);
    const to = Math.floor(((d.thread + 1) * nf) / d.threads);
    buildHistograms(hist, data, features, from, to, nf === bins.length, idx, start, end, gc, hc, identity);
  } catch (e) {
    Atomics.store(ctrl, ${ERROR}, 1);
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;
}

/** Blocks until ctrl[slot] reaches `target`; throws if a worker failed or never answers. */
function waitFor(ctrl: Int32Array, slot: number, target: number, what: string): void {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = Atomics.load(ctrl, slot);
    if (Atomics.load(ctrl, ERROR) !== 0) throw new Error(`fitGbt: a histogram worker thread failed (${what})`);
    if (v >= target) return;
    if (Date.now() > deadline) throw new Error(`fitGbt: histogram worker threads did not answer (${what})`);
    Atomics.wait(ctrl, slot, v, 1000);
  }
}

function sharedF64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** Builds histograms with `threads` threads: the main thread and `threads - 1` workers. */
export class ParallelHistogramBuilder implements HistogramBuilder {
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly features: Int32Array;
  private readonly hists: Float64Array[] = [];
  private readonly slotOf = new Map<Float64Array, number>();
  private nextHist = 0;
  private closed = false;

  private constructor(
    readonly buffers: HistogramBuffers,
    private readonly threads: number,
    numHistograms: number,
  ) {
    const { data } = buffers;
    const histLength = data.totalBins * BIN_STRIDE;
    const histSab = new SharedArrayBuffer(Math.max(1, numHistograms * histLength * 8));
    for (let s = 0; s < numHistograms; s++) {
      const hist = new Float64Array(histSab, s * histLength * 8, histLength);
      this.hists.push(hist);
      this.slotOf.set(hist, s);
    }
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SIZE * 4));
    this.features = new Int32Array(new SharedArrayBuffer(Math.max(1, data.bins.length) * 4));
    const src = workerSource();
    const sab = (a: ArrayBufferView): SharedArrayBuffer => a.buffer as SharedArrayBuffer;
    try {
      for (let t = 1; t < threads; t++) {
        const init: WorkerInit = {
          thread: t,
          threads,
          n: data.n,
          ctrl: sab(this.ctrl),
          bins: data.bins.map(sab),
          rows: sab(data.rows),
          offset: data.offset,
          numBins: data.numBins,
          idx: sab(buffers.idx),
          g: sab(buffers.g),
          h: sab(buffers.h),
          og: sab(buffers.og),
          oh: sab(buffers.oh),
          features: sab(this.features),
          hists: histSab,
          histLength,
        };
        const w = new Worker(src, { eval: true, workerData: init });
        w.unref();
        this.workers.push(w);
      }
      waitFor(this.ctrl, READY, threads - 1, 'starting');
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * A builder with `threads` threads over binned data whose bins are in SharedArrayBuffers
   * (binFeatures(..., shared = true)), for `k` outputs and `numHistograms` histograms.
   *
   * @example
   * ```ts
   * const data = binFeatures(columns, 255, 200000, 0, true);
   * const builder = ParallelHistogramBuilder.create(2, data, n, 1, 31);
   * try { ... grow trees with builder.buffers ... } finally { builder.close(); }
   * ```
   */
  static create(
    threads: number,
    data: BinnedFeatures,
    n: number,
    k: number,
    numHistograms: number,
  ): ParallelHistogramBuilder {
    const buffers: HistogramBuffers = {
      data,
      idx: new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4)),
      g: sharedF64(n * k),
      h: sharedF64(n * k),
      og: sharedF64(n),
      oh: sharedF64(n),
    };
    return new ParallelHistogramBuilder(buffers, threads, numHistograms);
  }

  /** The next of the shared histograms (the workers know them by slot). */
  newHistogram(length: number): Float64Array {
    const hist = this.hists[this.nextHist++];
    if (!hist || hist.length !== length) throw new Error('ParallelHistogramBuilder: no shared histogram left');
    return hist;
  }

  build(
    hist: Float64Array,
    start: number,
    end: number,
    identity: boolean,
    features: Int32Array,
    nFeatures: number,
    cls: number,
  ): void {
    const b = this.buffers;
    const [gc, hc] = leafGradients(b, start, end, identity, cls);
    const slot = this.slotOf.get(hist);
    const all = nFeatures === b.data.bins.length;
    if (slot === undefined || (end - start) * nFeatures < MIN_PARALLEL_WORK) {
      buildHistograms(hist, b.data, features, 0, nFeatures, all, b.idx, start, end, gc, hc, identity);
      return;
    }
    const ctrl = this.ctrl;
    this.features.set(features.subarray(0, nFeatures));
    ctrl[SLOT] = slot;
    ctrl[START] = start;
    ctrl[END] = end;
    ctrl[IDENTITY] = identity ? 1 : 0;
    ctrl[NFEAT] = nFeatures;
    ctrl[CLS] = cls;
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    // The main thread is thread 0: the first share of the features.
    buildHistograms(
      hist,
      b.data,
      features,
      0,
      Math.floor(nFeatures / this.threads),
      all,
      b.idx,
      start,
      end,
      gc,
      hc,
      identity,
    );
    waitFor(ctrl, DONE, this.threads - 1, 'building a histogram');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, EXIT, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    for (const w of this.workers) void w.terminate();
  }
}
