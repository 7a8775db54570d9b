import { problem, ProblemError } from '@plinth/schema';

/** A `version` path or query parameter: absent, or a positive integer (else a 400 naming it). */
export function parseVersion(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new ProblemError(
      problem(400, 'Invalid version', `version must be a positive integer, got '${String(v)}'`, [
        { pointer: '/version', detail: 'must be a positive integer' },
      ]),
    );
  return n;
}
