/** Errors of a pipeline spec that say where in the pipeline document the problem is. */

/**
 * A pipeline that cannot be compiled. `pointer` is the JSON Pointer of the offending field in
 * the pipeline document (schema/schemas/pipeline.json), e.g. `/inputs/0/categories`,
 * `/transformer/1`, `/model`, `/postprocessor/k`.
 *
 * @example
 * try { compilePipeline(spec); } catch (e) { if (e instanceof PipelineSpecError) console.log(e.pointer, e.message); }
 */
export class PipelineSpecError extends Error {
  constructor(
    message: string,
    readonly pointer: string,
  ) {
    super(message);
    this.name = 'PipelineSpecError';
  }
}

/** Runs `check`; an error it throws (without a pointer of its own) is rethrown at `pointer`. */
export function at<T>(pointer: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof PipelineSpecError || !(e instanceof Error)) throw e;
    throw new PipelineSpecError(e.message, pointer);
  }
}
