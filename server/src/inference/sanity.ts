import type { PipelineSession } from '@plinth/kernel-lib';

/** Largest |difference| allowed between a replayed reference output and the stored one. */
export const SANITY_TOLERANCE = 1e-5;

export interface SanityResult {
  examples: number;
  maxAbsDiff: number;
  /** What differed beyond the tolerance (at most 10), empty when the replay passed. */
  mismatches: string[];
}

/**
 * Replays a version's stored reference examples through a loaded session: numbers must agree
 * within {@link SANITY_TOLERANCE}, strings (labels, item ids, class names) exactly.
 */
export async function replayReferenceExamples(session: PipelineSession, reference: unknown): Promise<SanityResult> {
  if (!reference) return { examples: 0, maxAbsDiff: 0, mismatches: [] };
  // Values as stored: numbers (null = NaN) for float inputs, strings (null = missing) for string inputs.
  const stored = reference as { inputs: Record<string, unknown[]>; outputs: Record<string, unknown[]> };
  const inputs = Object.fromEntries(
    Object.entries(stored.inputs).map(([k, v]) => [
      k,
      session.inputTypes[k] === 'string'
        ? v.map((x) => (typeof x === 'string' ? x : null))
        : v.map((x) => (typeof x === 'number' ? x : NaN)),
    ]),
  );
  const outputs = await session.runTyped(inputs);
  const mismatches: string[] = [];
  let maxAbsDiff = 0;
  let examples = 0;
  for (const [out, expected] of Object.entries(stored.outputs)) {
    const got = outputs[out]?.data as ArrayLike<number | string> | undefined;
    if (!got) {
      mismatches.push(`the pipeline has no output '${out}'`);
      continue;
    }
    expected.forEach((e, i) => {
      if (typeof e === 'string' || typeof got[i] === 'string') {
        if (e !== got[i]) mismatches.push(`'${out}'[${i}] is ${JSON.stringify(got[i])}, expected ${JSON.stringify(e)}`);
        return;
      }
      const d = Math.abs(((e as number | null) ?? NaN) - (got[i] as number)) || 0;
      maxAbsDiff = Math.max(maxAbsDiff, d);
      if (d > SANITY_TOLERANCE) mismatches.push(`'${out}'[${i}] is ${got[i]}, expected ${String(e)}`);
    });
    examples = expected.length;
  }
  return { examples, maxAbsDiff, mismatches: mismatches.slice(0, 10) };
}
