import { InvalidArgumentError, type Command } from 'commander';
import type { BatchInferenceRequest, BatchInferenceResult, PlinthClient } from '@plinth/schema';
import { ProgressLine } from './progress';

type ClientOf = (f: { controlPlane?: string }) => PlinthClient;

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return n;
};

/** `ctr`, `ctr@3`, `ctr@production` -> the request's model, version or alias. */
function modelOf(ref: string): Pick<BatchInferenceRequest, 'model' | 'version' | 'alias'> {
  const [model, which] = ref.split('@', 2);
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(model) || which === '')
    throw new InvalidArgumentError(`'${ref}' is not a model reference: use name, name@version or name@alias`);
  if (which === undefined || which === 'latest') return { model };
  return /^v?[0-9]+$/.test(which) ? { model, version: Number(which.replace(/^v/, '')) } : { model, alias: which };
}

/** `plinth batch-predict`: a batch inference job, followed with a progress bar; non-zero exit when it fails. */
export function registerBatchCommands(program: Command, withCommon: (c: Command) => Command, clientOf: ClientOf): void {
  withCommon(program.command('batch-predict'))
    .description(
      'score a model version over an example set or every entity of a lake table into Parquet in the offline store (optionally also the online store), resumable in chunks; waits and shows progress',
    )
    .argument('<model>', 'name, name@version or name@alias')
    .requiredOption('--output <name>', 'result name: parts go under batch-predictions/<output>/<job id>/')
    .option('--example-set <name>', 'score every row of this example set (name or name@version)')
    .option('--entities <dataSource>', 'score every entity of this data source (a lake table of join keys)')
    .option('--chunk-rows <n>', 'rows per committed part (default 50000)', positiveInt)
    .option('--push-to-online <view>', 'also write the outputs online under this feature view')
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print the result manifest as JSON')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(
      async (
        ref: string,
        f: {
          controlPlane?: string;
          output: string;
          exampleSet?: string;
          entities?: string;
          chunkRows?: number;
          pushToOnline?: string;
          wait: boolean;
          json?: boolean;
        },
      ) => {
        if (!f.exampleSet === !f.entities) throw new InvalidArgumentError('give one of --example-set and --entities');
        let source: BatchInferenceRequest['source'];
        if (f.exampleSet) {
          const [name, v] = f.exampleSet.split('@', 2);
          source = { exampleSet: { name, ...(v ? { version: positiveInt(v) } : {}) } };
        } else source = { entities: { dataSource: f.entities as string } };
        const client = clientOf(f);
        const job = await client.batchPredict({
          ...modelOf(ref),
          source,
          output: f.output,
          ...(f.chunkRows ? { chunkRows: f.chunkRows } : {}),
          ...(f.pushToOnline ? { pushToOnline: { view: f.pushToOnline } } : {}),
        });
        if (!f.wait) {
          process.stdout.write(`${job.id}\n`);
          return;
        }
        const bar = new ProgressLine(`batch-predict ${ref}`);
        const done = await client.waitForJob(job.id, (j) => bar.update(j.progress, 1, j.status));
        const r = done.result as BatchInferenceResult;
        if (f.json) {
          bar.done(`job ${done.id} succeeded`);
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        const online = r.pushedToOnline
          ? `; ${r.pushedToOnline.written} written online to ${r.pushedToOnline.view}`
          : '';
        bar.done(`${r.model}@${r.version}: ${r.rows} rows in ${r.parts.length} part(s) (job ${done.id})${online}`);
        process.stdout.write(`${r.manifest}\n`);
      },
    );
}
