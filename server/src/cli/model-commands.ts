import fs from 'node:fs';
import type { Command } from 'commander';
import { connect } from '@plinth/kernel-lib';
import { collect } from './run-commands';
import type { PlinthClient } from '@plinth/schema';
import { printJson, table } from './print';

type ClientOf = (f: { controlPlane?: string }) => PlinthClient;
type Common = { controlPlane?: string; json?: boolean };

/** `ctr@production` / `ctr@3` / `ctr` -> [name, ref]. */
function parseRef(ref: string): [string, string] {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const which = at >= 0 ? ref.slice(at + 1) : 'latest';
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name) || !which)
    throw new Error(`'${ref}' is not a model reference: use name, name@version or name@alias`);
  return [name, which];
}

function versionOf(v: string): number {
  const n = Number(v.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`'${v}' is not a version number`);
  return n;
}

/** `plinth models ...`: versions, aliases (through their gate), history, archive, delete, lineage, predict. */
export function registerModelCommands(program: Command, withCommon: (c: Command) => Command, clientOf: ClientOf): void {
  const models = program.command('models').description('the model repository: versions, aliases, lineage');
  const cp = (c: Command) => withCommon(c).option('--control-plane <url>', 'control plane URL (env PLINTH_URL)');

  cp(models.command('list'))
    .description('every model with its newest version and aliases')
    .option('--json', 'print JSON')
    .action(async (f: Common) => {
      const client = clientOf(f);
      const { items } = await client.listModels();
      if (f.json) return printJson(items);
      const rows = await Promise.all(
        items.map(async (m) => {
          const aliases = (await client.listModelAliases(m.name)).items;
          return [m.name, String(m.version), aliases.map((a) => `${a.alias}=v${a.version}`).join(' '), m.team ?? ''];
        }),
      );
      table(['model', 'latest', 'aliases', 'team'], rows);
    });

  cp(models.command('versions'))
    .description('versions of a model: status, aliases, deployments, headline metrics')
    .argument('<model>')
    .option('--json', 'print JSON')
    .action(async (name: string, f: Common) => {
      const { items } = await clientOf(f).listModelVersions(name);
      if (f.json) return printJson(items);
      table(
        ['version', 'status', 'created', 'by', 'aliases', 'deployments', 'run'],
        items.map((v) => [
          String(v.version),
          v.status,
          v.createdAt.slice(0, 19).replace('T', ' '),
          v.createdBy,
          (v.aliases ?? []).join(' '),
          (v.deployments ?? []).map((d) => d.deployment).join(' '),
          v.run?.id.slice(0, 8) ?? '',
        ]),
      );
    });

  cp(models.command('show'))
    .description('one version as JSON: metadata, aliases, deployments (ref: name, name@3, name@production)')
    .argument('<ref>')
    .action(async (ref: string, f: Common) => {
      const [name, which] = parseRef(ref);
      printJson(await clientOf(f).getModelVersion(name, which));
    });

  cp(models.command('card'))
    .description("a version's model card (markdown)")
    .argument('<ref>')
    .action(async (ref: string, f: Common) => {
      const [name, which] = parseRef(ref);
      const v = await clientOf(f).getModelVersion(name, which);
      process.stdout.write(`${v.modelCard ?? `(${name}@${v.version} has no model card)`}\n`);
    });

  cp(models.command('publish'))
    .description('publish the model a tracked run trained (its model file) as a new version, linked to the run')
    .argument('<model>')
    .requiredOption('--run <id>', 'the run id (plinth runs search)')
    .option('--request-feature <name>', 'a feature sent with each request instead of read online (repeatable)', collect)
    .option('--description <text>')
    .option('--team <team>')
    .option('--owner <contact>')
    .option('--model-card <file>', 'a markdown file')
    .action(
      async (
        name: string,
        f: Common & {
          run: string;
          requestFeature?: string[];
          description?: string;
          team?: string;
          owner?: string;
          modelCard?: string;
        },
      ) => {
        const client = clientOf(f);
        const p = connect({ url: client.baseUrl });
        const v = await p.publishRun(name, f.run, {
          ...(f.requestFeature ? { requestFeatures: f.requestFeature } : {}),
          ...(f.description ? { description: f.description } : {}),
          ...(f.team ? { team: f.team } : {}),
          ...(f.owner ? { owner: f.owner } : {}),
          ...(f.modelCard ? { modelCard: fs.readFileSync(f.modelCard, 'utf8') } : {}),
        });
        process.stdout.write(`published ${v.name}@${v.version} from run ${f.run}\n`);
      },
    );

  cp(models.command('alias'))
    .description(
      'point an alias at a version, through the alias gate: plinth models alias ctr production 4 --reason "..."',
    )
    .argument('<model>')
    .argument('<alias>')
    .argument('<version>')
    .requiredOption('--reason <text>', 'why (kept in the alias history)')
    .option('--holdout <exampleSet>', 'holdout example set for the gate (name or name@version)')
    .option('--force', 'override a failed gate (only if the policy allows it; recorded)')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        alias: string,
        version: string,
        f: Common & { reason: string; holdout?: string; force?: boolean },
      ) => {
        let exampleSet: { name: string; version?: number } | undefined;
        if (f.holdout) {
          const [es, v] = f.holdout.split('@');
          exampleSet = { name: es, ...(v ? { version: versionOf(v) } : {}) };
        }
        const r = await clientOf(f).moveModelAlias(name, alias, {
          version: versionOf(version),
          reason: f.reason,
          ...(exampleSet ? { exampleSet } : {}),
          ...(f.force ? { force: true } : {}),
        });
        if (f.json) return printJson(r);
        process.stdout.write(`${name}@${alias} -> version ${r.alias.version}\n`);
        if (r.evaluation) {
          const e = r.evaluation;
          const m = e.metric ?? '';
          process.stdout.write(
            `gate: ${m} ${e.candidate.metrics[m]} vs ${e.baseline ? `v${e.baseline.version} ${e.baseline.metrics[m]}` : '(no incumbent)'} on ${e.exampleSet.name}@${e.exampleSet.version} (${e.rows} rows): ${e.passed ? 'passed' : 'FAILED, forced'}\n`,
          );
        }
      },
    );

  cp(models.command('unalias'))
    .description('remove an alias')
    .argument('<model>')
    .argument('<alias>')
    .requiredOption('--reason <text>', 'why (kept in the alias history)')
    .action(async (name: string, alias: string, f: Common & { reason: string }) => {
      await clientOf(f).removeModelAlias(name, alias, f.reason);
      process.stdout.write(`removed ${name}@${alias}\n`);
    });

  cp(models.command('history'))
    .description('who moved which alias when and why (and moves the gate refused)')
    .argument('<model>')
    .option('--alias <alias>', 'only this alias')
    .option('--json', 'print JSON')
    .action(async (name: string, f: Common & { alias?: string }) => {
      const { items } = await clientOf(f).getAliasHistory(name, f.alias);
      if (f.json) return printJson(items);
      table(
        ['at', 'alias', 'action', 'from', 'to', 'by', 'reason'],
        items.map((e) => [
          e.at.slice(0, 19).replace('T', ' '),
          e.alias,
          e.action + (e.forced ? ' (forced)' : ''),
          e.fromVersion === null ? '-' : String(e.fromVersion),
          e.toVersion === null ? '-' : String(e.toVersion),
          e.actor,
          e.reason,
        ]),
      );
    });

  cp(models.command('policy'))
    .description(
      'set the gate policy of an alias: plinth models policy ctr production --metric auc --holdout ctr_holdout',
    )
    .argument('<model>')
    .argument('<alias>')
    .requiredOption('--metric <metric>', 'auc, prAuc, logLoss, accuracy, f1, macroF1, rmse, mae or r2')
    .option('--holdout <exampleSet>', 'holdout example set (name or name@version)')
    .option('--max-regression <x>', 'how much worse than the incumbent is allowed (default 0)', Number)
    .option('--min-improvement <x>', 'how much better than the incumbent is required', Number)
    .option('--min-value <x>', 'absolute floor (ceiling for lower-is-better metrics)', Number)
    .option('--allow-force', 'let moves override a failed gate with --force')
    .action(
      async (
        name: string,
        alias: string,
        f: Common & {
          metric: string;
          holdout?: string;
          maxRegression?: number;
          minImprovement?: number;
          minValue?: number;
          allowForce?: boolean;
        },
      ) => {
        const [es, v] = (f.holdout ?? '').split('@');
        const policy = await clientOf(f).setAliasPolicy(name, alias, {
          metric: f.metric as never,
          ...(f.holdout ? { exampleSet: { name: es, ...(v ? { version: versionOf(v) } : {}) } } : {}),
          ...(f.maxRegression !== undefined ? { maxRegression: f.maxRegression } : {}),
          ...(f.minImprovement !== undefined ? { minImprovement: f.minImprovement } : {}),
          ...(f.minValue !== undefined ? { minValue: f.minValue } : {}),
          ...(f.allowForce ? { allowForce: true } : {}),
        });
        printJson(policy);
      },
    );

  cp(models.command('archive'))
    .description('archive a version (refused while an alias or a deployment uses it)')
    .argument('<model>')
    .argument('<version>')
    .option('--reason <text>')
    .action(async (name: string, version: string, f: Common & { reason?: string }) => {
      const v = await clientOf(f).archiveModelVersion(name, versionOf(version), f.reason);
      process.stdout.write(`${name}@${v.version} archived\n`);
    });

  cp(models.command('unarchive'))
    .description('make an archived version usable again')
    .argument('<model>')
    .argument('<version>')
    .action(async (name: string, version: string, f: Common) => {
      const v = await clientOf(f).unarchiveModelVersion(name, versionOf(version));
      process.stdout.write(`${name}@${v.version} ${v.status}\n`);
    });

  cp(models.command('delete'))
    .description('delete a version (refused while an alias or a deployment uses it)')
    .argument('<model>')
    .argument('<version>')
    .action(async (name: string, version: string, f: Common) => {
      await clientOf(f).deleteModelVersion(name, versionOf(version));
      process.stdout.write(`${name}@${version} deleted\n`);
    });

  cp(models.command('lineage'))
    .description('lake sources -> feature views -> example set -> run -> version -> aliases and deployments')
    .argument('<ref>')
    .option('--json', 'print JSON')
    .action(async (ref: string, f: Common) => {
      const [name, which] = parseRef(ref);
      const l = await clientOf(f).getModelLineage(name, which);
      if (f.json) return printJson(l);
      const lines = [
        ...l.sources.map((s) => `source         ${s.name} (${s.path}) -> ${s.views.join(', ')}`),
        ...l.featureViews.map((v) => `feature view   ${v.name}@${v.version}`),
        ...(l.featureService ? [`feature svc    ${l.featureService.name}@${l.featureService.version}`] : []),
        ...(l.labelView ? [`label view     ${l.labelView}`] : []),
        ...(l.exampleSet
          ? [`example set    ${l.exampleSet.name}@${l.exampleSet.version} (${l.exampleSet.uri ?? ''})`]
          : []),
        ...(l.run
          ? [`run            ${l.run.id} (${l.run.experiment ?? ''}/${l.run.name ?? ''}, ${l.run.status ?? ''})`]
          : []),
        `model version  ${l.model.name}@${l.model.version}`,
        ...l.aliases.map((a) => `alias          ${a}`),
        ...l.deployments.map((d) => `deployment     ${d.deployment} ${d.endpoint}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  cp(models.command('evaluate'))
    .description('score a version on a holdout example set, optionally against another version or alias (recorded)')
    .argument('<ref>')
    .requiredOption('--holdout <exampleSet>', 'name or name@version')
    .option('--against <ref>', 'a version number or alias to compare with')
    .action(async (ref: string, f: Common & { holdout: string; against?: string }) => {
      const [name, which] = parseRef(ref);
      const [es, v] = f.holdout.split('@');
      printJson(
        await clientOf(f).evaluateModelVersion(name, which, {
          exampleSet: { name: es, ...(v ? { version: versionOf(v) } : {}) },
          ...(f.against ? { against: f.against } : {}),
        }),
      );
    });

  cp(models.command('predict'))
    .description('run a version in the control plane on input columns given as JSON: {"age":[31,null]}')
    .argument('<ref>')
    .argument('<inputs>', 'JSON object of input columns')
    .action(async (ref: string, inputs: string, f: Common) => {
      const [name, which] = parseRef(ref);
      let parsed: unknown;
      try {
        parsed = JSON.parse(inputs);
      } catch (e) {
        throw new Error(`inputs are not JSON: ${(e as Error).message}`);
      }
      printJson(await clientOf(f).predictWithModelVersion(name, which, { inputs: parsed as never }));
    });
}
