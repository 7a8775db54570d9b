/** RFC 9457 problem details, the one error shape of every Plinth API. */
export interface FieldError {
  /** JSON Pointer (RFC 6901) to the offending field, '' for the whole document. */
  pointer: string;
  detail: string;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Builds a problem document; `type` is a stable URN so clients can branch on it. */
export function problem(
  status: number,
  title: string,
  detail?: string,
  errors?: FieldError[],
  type = `urn:plinth:problem:${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
): ProblemDetails {
  return { type, title, status, ...(detail ? { detail } : {}), ...(errors?.length ? { errors } : {}) };
}

/** An error that carries problem details; the server answers with it as is. */
export class ProblemError extends Error {
  constructor(readonly problem: ProblemDetails) {
    super(formatProblem(problem));
    this.name = 'ProblemError';
  }
  get status(): number {
    return this.problem.status;
  }
}

/** One readable line per field error, for CLI output and exceptions in notebooks. */
export function formatProblem(p: ProblemDetails): string {
  const head = p.detail ? `${p.title}: ${p.detail}` : p.title;
  const fields = (p.errors ?? []).map((e) => `  ${e.pointer || '(document)'}: ${e.detail}`);
  return [head, ...fields].join('\n');
}
