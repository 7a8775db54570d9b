import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { deploymentHistoryRows } from '@plinth/kernel-lib';
import type { Deployment, DeployRequest, PlinthClient } from '@plinth/schema';
import { printJson, table } from './print';

type ClientOf = (f: { controlPlane?: string }) => PlinthClient;
type Common = { controlPlane?: string; json?: boolean };

/** `ctr` -> newest version, `ctr@3` -> version 3, `ctr@production` -> that alias. */
function modelRef(ref: string): Pick<DeployRequest, 'model' | 'version' | 'alias'> {
  const at = ref.indexOf('@');
  const model = at >= 0 ? ref.slice(0, at) : ref;
  const which = at >= 0 ? ref.slice(at + 1) : '';
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(model) || (at >= 0 && !which))
    throw new InvalidArgumentError(`'${ref}' is not a model reference: use name, name@version or name@alias`);
  if (!which) return { model };
  const n = Number(which.replace(/^v/, ''));
  return Number.isInteger(n) && n >= 1 ? { model, version: n } : { model, alias: which };
}

function share(v: string): number {
  const n = Number(v.replace(/%$/, '')) / (v.endsWith('%') ? 100 : 1);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`'${v}' is not a share between 0 and 1 (e.g. 0.1 or 10%)`);
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`'${v}' is not a positive number of seconds`);
  return n;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');

/** 45 s, 12 min, 15.9 h, 60 d: feature ages span seconds to months. */
function duration(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

/** One line saying what a deployment now serves. */
function summary(d: Deployment): string {
  return (
    `${d.name}: ${d.model}@${d.version}${d.alias ? ` (${d.alias})` : ''}` +
    (d.canary ? `, canary v${d.canary.version} at ${pct(d.canary.share)}` : '') +
    (d.shadow ? `, shadow v${d.shadow.version}` : '')
  );
}

/** `plinth deploy` and `plinth deployments ...`: deploy (replace, canary, shadow), list, history, rollback, promote. */
export function registerDeploymentCommands(
  program: Command,
  withCommon: (c: Command) => Command,
  clientOf: ClientOf,
): void {
  const cp = (c: Command) => withCommon(c).option('--control-plane <url>', 'control plane URL (env PLINTH_URL)');

  cp(program.command('deploy'))
    .description(
      'deploy a model version under a name: loaded and sanity-tested on the inference tier, online features checked, then traffic switched (plinth deploy ctr ctr@3 --canary 0.1)',
    )
    .argument('<name>', 'the deployment')
    .argument('<model>', 'name (newest version), name@version or name@alias')
    .option('--canary <share>', 'serve it beside the current version for this share of requests (0.1 or 10%)', share)
    .option('--shadow', 'run it on copies of requests, answering none (outputs go to the prediction log)')
    .option('--reason <text>', 'why (kept in the deployment history)')
    .option('--max-staleness <seconds>', "refuse when an online feature view's newest event is older", seconds)
    .option('--json', 'print the deployment as JSON')
    .action(
      async (
        name: string,
        ref: string,
        f: Common & { canary?: number; shadow?: boolean; reason?: string; maxStaleness?: number },
      ) => {
        if (f.canary !== undefined && f.shadow) throw new InvalidArgumentError('give --canary or --shadow, not both');
        const d = await clientOf(f).deploy(name, {
          ...modelRef(ref),
          ...(f.canary !== undefined ? { mode: 'canary' as const, share: f.canary } : {}),
          ...(f.shadow ? { mode: 'shadow' as const } : {}),
          ...(f.reason ? { reason: f.reason } : {}),
          ...(f.maxStaleness !== undefined ? { maxStalenessSeconds: f.maxStaleness } : {}),
        });
        if (f.json) return printJson(d);
        const tested = d.canary?.sanity ?? d.shadow?.sanity ?? d.sanity;
        const lines = [
          `deployed ${summary(d)}`,
          ...(tested
            ? [
                `sanity test: ${tested.examples ?? 0} reference examples replayed on ${tested.tier ?? 'the inference tier'}, max |diff| ${tested.maxAbsDiff ?? 0}`,
              ]
            : []),
          ...(d.freshness ?? []).map(
            (v) =>
              `features: ${v.view}@${v.version} newest event ${typeof v.ageSeconds === 'number' ? duration(v.ageSeconds) : '?'} old` +
              `${v.maxAgeSeconds ? ` (limit ${duration(v.maxAgeSeconds)})` : ''}` +
              `${v.onlineEntities !== undefined ? `, ${v.onlineEntities} entities online` : ''}`,
          ),
          `endpoint: ${d.endpoint}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );

  const deployments = program
    .command('deployments')
    .description('deployments: list, history, rollback, promote a canary');

  cp(deployments.command('list'))
    .description('every deployment: what it serves, its canary and shadow, since when and by whom')
    .option('--json', 'print JSON')
    .action(async (f: Common) => {
      const { items } = await clientOf(f).listDeployments();
      if (f.json) return printJson(items);
      table(
        ['name', 'model', 'version', 'canary', 'shadow', 'since', 'by'],
        items.map((d) => [
          d.name,
          d.model,
          `${d.version}${d.alias ? ` (${d.alias})` : ''}`,
          d.canary ? `v${d.canary.version} ${pct(d.canary.share)}` : '',
          d.shadow ? `v${d.shadow.version}` : '',
          when(d.createdAt),
          d.createdBy,
        ]),
      );
    });

  cp(deployments.command('history'))
    .description('every state of a deployment, newest first, with who and why; * marks the live one')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, f: Common) => {
      const { items } = await clientOf(f).deploymentHistory(name);
      if (f.json) return printJson(items);
      const rows = deploymentHistoryRows(items);
      const header = ['revision', 'action', 'version', 'canary', 'shadow', 'when', 'by', 'reason', 'live'];
      table(
        header,
        rows.map((r) => header.map((h) => r[h] ?? '')),
      );
    });

  cp(deployments.command('rollback'))
    .description(
      'end a canary or shadow; without one, go back to the newest earlier state that served a different version',
    )
    .argument('<name>')
    .option('--reason <text>', 'why (kept in the deployment history)')
    .option('--json', 'print the deployment as JSON')
    .action(async (name: string, f: Common & { reason?: string }) => {
      const d = await clientOf(f).rollbackDeployment(name, f.reason ? { reason: f.reason } : {});
      if (f.json) return printJson(d);
      process.stdout.write(`rolled back ${summary(d)}\n`);
    });

  cp(deployments.command('promote'))
    .description("the canary takes all of the deployment's traffic")
    .argument('<name>')
    .option('--reason <text>', 'why (kept in the deployment history)')
    .option('--json', 'print the deployment as JSON')
    .action(async (name: string, f: Common & { reason?: string }) => {
      const d = await clientOf(f).promoteCanary(name, f.reason ? { reason: f.reason } : {});
      if (f.json) return printJson(d);
      process.stdout.write(`promoted ${summary(d)}\n`);
    });
}
