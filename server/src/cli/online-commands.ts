import fs from 'node:fs';
import type { Command } from 'commander';
import type { PlinthClient } from '@plinth/schema';
import { parsePushRow, pushTarget } from '../featurestore/push-rows';
import { ProgressLine } from './progress';

/** Rows per push request: well under the API's limit of 10,000. */
const PUSH_CHUNK = 5_000;

type ClientOf = (f: { controlPlane?: string }) => PlinthClient;

/**
 * Reads JSON Lines (one row object per line) from a file or stdin ('-'). A line that is not
 * JSON fails the whole command, naming the file and line, before anything is sent.
 */
function readJsonLines(file: string): { line: number; row: unknown }[] {
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  const where = file === '-' ? 'stdin' : file;
  const out: { line: number; row: unknown }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    try {
      out.push({ line: i + 1, row: JSON.parse(raw) });
    } catch (e) {
      throw new Error(`${where}:${i + 1}: not JSON (${(e as Error).message})`);
    }
  });
  return out;
}

/** `plinth push` and `plinth online ...`: the online store from the command line. */
export function registerOnlineCommands(
  program: Command,
  withCommon: (c: Command) => Command,
  clientOf: ClientOf,
): void {
  withCommon(program.command('push'))
    .description(
      "write rows into a feature view's online store now (JSON Lines: join keys, timestamp column, features); older rows never replace newer ones",
    )
    .argument('<view>', 'feature view')
    .argument('<file>', "JSON Lines file, or '-' for stdin")
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (view: string, file: string, f: { controlPlane?: string }) => {
      const client = clientOf(f);
      const rows = readJsonLines(file);
      if (rows.length === 0) throw new Error(`${file}: no rows`);
      // Every row is checked before the first is sent: a bad line writes nothing.
      const spec = (await client.getFeatureView(view)).spec;
      const entities = await Promise.all(spec.entities.map(async (e) => (await client.getEntity(e)).spec));
      const target = pushTarget(spec, entities);
      const problems = rows.flatMap(({ line, row }) =>
        parsePushRow(target, row, '').errors.map(
          (e) => `${file === '-' ? 'stdin' : file}:${line}: ${e.pointer.slice(1)}: ${e.detail}`,
        ),
      );
      if (problems.length)
        throw new Error(
          `${problems.length} problem(s), nothing was pushed:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? '\n  ...' : ''}`,
        );
      const bar = new ProgressLine(`push ${view}`);
      let written = 0;
      let skippedOlder = 0;
      for (let i = 0; i < rows.length; i += PUSH_CHUNK) {
        const r = await client.push(view, {
          rows: rows.slice(i, i + PUSH_CHUNK).map((x) => x.row as Record<string, unknown>),
        });
        written += r.written;
        skippedOlder += r.skippedOlder;
        bar.update(Math.min(rows.length, i + PUSH_CHUNK), rows.length, `${written} written`);
      }
      bar.done(`${view}: ${written} rows written, ${skippedOlder} skipped (older than the stored value)`);
    });

  const online = program
    .command('online')
    .description("a feature view's online data: size, expiry, deletion, consistency");
  withCommon(online.command('status'))
    .description("entities and bytes a view holds in the online store, and its stream consumer's progress")
    .argument('<view>')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (view: string, f: { controlPlane?: string }) => {
      const client = clientOf(f);
      const s = await client.getOnlineStatus(view);
      process.stdout.write(`${s.view}: ${s.entities} entities, ${s.bytes} bytes in ${s.store}\n`);
      if (!(await client.getFeatureView(view)).spec.stream) return;
      const c = await client.getStreamStatus(view);
      const lines = [
        `  stream ${c.kind} ${c.topic} (group ${c.group}): ${c.state}, lag ${c.lag ?? 'unknown'}`,
        `  ${c.received} received, ${c.written} written, ${c.skippedOlder} older than stored, ${c.deadLettered} to ${c.deadLetter}`,
        ...(c.lastError ? [`  last error: ${c.lastError}`] : []),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  withCommon(online.command('expire'))
    .description("remove a view's online values older than its TTL")
    .argument('<view>')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (view: string, f: { controlPlane?: string }) => {
      const r = await clientOf(f).expireOnline(view);
      process.stdout.write(`${r.view}: ${r.removed} values older than ${r.before} removed\n`);
    });
  withCommon(online.command('delete'))
    .description("remove all of a view's online data (the offline data and the definition stay)")
    .argument('<view>')
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (view: string, f: { controlPlane?: string }) => {
      const r = await clientOf(f).deleteOnline(view);
      process.stdout.write(`${r.view}: ${r.removed} entities removed from the online store\n`);
    });
  withCommon(online.command('check'))
    .description('compare a sample of online values with the latest offline values')
    .argument('<view>')
    .option('--sample <n>', 'entities to sample', (v) => Number(v), 1000)
    .option('--control-plane <url>', 'control plane URL (env PLINTH_URL)')
    .action(async (view: string, f: { controlPlane?: string; sample: number }) => {
      const r = await clientOf(f).checkConsistency(view, { sample: f.sample });
      const lines = [
        `${r.view}: ${(r.mismatchShare * 100).toFixed(2)}% mismatched of ${r.sampled} sampled entities`,
        `  missing online ${r.missingOnline}, older online ${r.olderOnline}, differing ${r.mismatched} of ${r.compared} compared, newer online (pushed since) ${r.newerOnline}`,
        ...(r.outsideTtl
          ? [`  ${r.outsideTtl} entities left out: their newest offline value is older than the TTL`]
          : []),
        ...Object.entries(r.byFeature)
          .filter(([, n]) => n > 0)
          .map(([feature, n]) => `  ${feature}: ${n} differ`),
        ...r.examples.map(
          (e) =>
            `  e.g. ${JSON.stringify(e.entity)} ${e.feature}: offline ${JSON.stringify(e.offline)}, online ${JSON.stringify(e.online)}`,
        ),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      if (r.mismatchShare > 0) process.exitCode = 2;
    });
}
