import type { Command } from 'commander';
import { compareRunsTable } from '@plinth/kernel-lib';
import type { PlinthClient, Run } from '@plinth/schema';

type ClientOf = (f: { controlPlane?: string }) => PlinthClient;

/** A repeatable option (`--order a --order b`): variadic ones would swallow the filter argument. */
export const collect = (v: string, all: string[] | undefined): string[] => [...(all ?? []), v];

const metricColumns = (runs: Run[], wanted: string[] | undefined): string[] =>
  wanted ?? [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort().slice(0, 4);

/** One line per run: id, start, status, experiment/name, then the chosen metrics. */
function printRuns(runs: Run[], metrics: string[]): void {
  const header = ['id', 'started', 'status', 'run', ...metrics];
  const rows = runs.map((r) => [
    r.id,
    r.startTime.slice(0, 19).replace('T', ' '),
    r.status,
    `${r.experiment}/${r.name ?? ''}`,
    ...metrics.map((m) => (r.metrics[m] ? String(Number(r.metrics[m].value.toPrecision(6))) : '-')),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j].length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, j) => c.padEnd(widths[j])).join('  ')}\n`);
}

/** `plinth runs ...`: list, search, show and compare tracked runs. */
export function registerRunCommands(program: Command, withCommon: (c: Command) => Command, clientOf: ClientOf): void {
  const runs = program.command('runs').description('tracked training runs: search, show, compare');

  withCommon(runs.command('search'))
    .alias('list')
    .description(
      "runs matching a filter, e.g. plinth runs search --experiment ctr \"metrics.validation.auc > 0.7 AND params.model = 'gbt'\" --order 'metrics.validation.auc DESC'",
    )
    .argument('[filter]', 'clauses joined by AND (docs/runs.md); default: every run')
    .option('--experiment <name>', 'only this experiment (repeatable)', collect)
    .option('--order <term>', "e.g. 'metrics.auc DESC' (repeatable; default: newest first)", collect)
    .option('--metric <key>', 'a metric to show as a column (repeatable; default: up to four)', collect)
    .option('--limit <n>', 'at most this many (default 20)', (v) => Number(v), 20)
    .option('--json', 'print the runs as JSON')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(
      async (
        filter: string | undefined,
        f: {
          experiment?: string[];
          order?: string[];
          metric?: string[];
          limit: number;
          json?: boolean;
          controlPlane?: string;
        },
      ) => {
        if (!Number.isInteger(f.limit) || f.limit < 1 || f.limit > 1000)
          throw new Error(`--limit must be an integer from 1 to 1000, got ${f.limit}`);
        const { items, nextPageToken } = await clientOf(f).searchRuns({
          ...(f.experiment ? { experiments: f.experiment } : {}),
          ...(filter ? { filter } : {}),
          ...(f.order ? { orderBy: f.order } : {}),
          maxResults: f.limit,
        });
        if (f.json) {
          process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
          return;
        }
        if (!items.length) {
          process.stdout.write('no runs match\n');
          return;
        }
        printRuns(items, metricColumns(items, f.metric));
        if (nextPageToken) process.stdout.write(`(more: raise --limit)\n`);
      },
    );

  withCommon(runs.command('show'))
    .description('one run: parameters, latest metrics, tags, artifacts, source, environment (JSON)')
    .argument('<id>', 'run id')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (id: string, f: { controlPlane?: string }) => {
      process.stdout.write(`${JSON.stringify(await clientOf(f).getRun(id), null, 2)}\n`);
    });

  withCommon(runs.command('compare'))
    .description('runs side by side: one row per parameter and metric, one column per run')
    .argument('<ids...>', 'two or more run ids')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (ids: string[], f: { controlPlane?: string }) => {
      if (ids.length < 2) throw new Error('compare needs at least two run ids');
      const client = clientOf(f);
      const rows = compareRunsTable(await Promise.all(ids.map((id) => client.getRun(id))));
      const cell = (v: string | number | null): string =>
        v === null ? '-' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : v;
      const header = Object.keys(rows[0] ?? { field: '' });
      const table = rows.map((row) => header.map((h) => cell(row[h] ?? null)));
      const widths = header.map((h, j) => Math.min(48, Math.max(h.length, ...table.map((row) => row[j].length))));
      for (const row of [header, ...table])
        process.stdout.write(`${row.map((c, j) => c.slice(0, 48).padEnd(widths[j])).join('  ')}\n`);
    });
}
