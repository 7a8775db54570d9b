/**
 * The real `plinth` CLI (server/bin/plinth.js runs server/dist; vitest.build.mts builds it
 * before the tests start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test-support/net';
import { tempDir } from '../test-support/platform';
import { writeParquet } from '../test-support/lake';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const bin = path.join(repoRoot, 'server', 'bin', 'plinth.js');

let home: string | undefined;

/** The environment without the developer's PLINTH_* settings, and an empty HOME (default data dir ~/.plinth). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLINTH_')));
  home ??= tempDir('home');
  return { ...env, HOME: home, ...extra };
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (killed after `timeoutMs`). */
function plinth(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: cleanEnv(env), cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, log: () => string): Promise<void> {
  // Generous: a cold start on a busy CI machine can take tens of seconds.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`plinth serve exited with ${child.exitCode}: ${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no answer from ${url}: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('plinth CLI: usage and flags', () => {
  it('--help lists the commands', async () => {
    const r = await plinth(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['up', 'serve', 'infer', 'worker', 'demo-data', 'apply'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd} `, 'm'));
  });

  it.each([
    [['demo-data', '--size', 'huge'], /--size.*huge|huge.*--size/],
    [['serve', '--port', 'abc'], /--port.*abc/],
    [['serve', '--infer-port', '70000'], /--infer-port.*70000/],
    [['demo-data', '--end-date', '2026-13-45'], /--end-date.*2026-13-45/],
    [['demo-data', '--days', '0'], /--days.*0/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('rejects %j naming the flag', async (args, message) => {
    const r = await plinth(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('rejects a config file with an unknown key, naming the file and the key', async () => {
    const dir = tempDir('cfg');
    const file = path.join(dir, 'custom.yaml');
    fs.writeFileSync(file, 'port: 9000\nbogus_setting: 1\n');
    const r = await plinth(['serve', '--data-dir', dir, '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain("unknown setting 'bogus_setting'");
    // The default file in the data directory is checked the same way.
    fs.writeFileSync(path.join(dir, 'plinth.yaml'), 'prot: 9000\n');
    const r2 = await plinth(['serve', '--data-dir', dir]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(path.join(dir, 'plinth.yaml'));
    expect(r2.stderr).toContain("'prot'");
  });

  it('worker exits non-zero when the control plane is unreachable', async () => {
    const port = await freePort();
    const r = await plinth(['worker', '--control-plane', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^plinth: Server unreachable/);
  });
});

describe('plinth demo-data', () => {
  it('writes a tiny lake, then refuses to overwrite it without --overwrite', async () => {
    const lake = path.join(tempDir('demo'), 'lake');
    const r = await plinth(['demo-data', '--size', 'tiny', '--days', '3', '--lake-dir', lake]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(lake, '_demo.json'), 'utf8')) as {
      size: string;
      days: number;
      rowCounts: Record<string, number>;
    };
    expect(summary).toMatchObject({ size: 'tiny', days: 3 });
    expect(summary.rowCounts.impressions).toBeGreaterThan(0);
    expect(r.stderr).toContain(`Demo lake written to ${lake}`);

    const again = await plinth(['demo-data', '--size', 'tiny', '--days', '3', '--lake-dir', lake]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(lake);
    expect(again.stderr).toMatch(/--overwrite/);
    expect(fs.existsSync(path.join(lake, '_demo.json'))).toBe(true);

    const over = await plinth(['demo-data', '--size', 'tiny', '--days', '2', '--lake-dir', lake, '--overwrite']);
    expect(over.code, over.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(lake, '_demo.json'), 'utf8'))).toMatchObject({ days: 2 });
  });
});

describe('plinth serve and apply', () => {
  let serve: ChildProcess | undefined;
  let serveLog = '';
  let url = '';
  let filePort = 0;
  let dataDir = '';

  beforeAll(async () => {
    dataDir = tempDir('serve');
    filePort = await freePort();
    const envPort = await freePort();
    // The file says one port, the environment another: the environment wins.
    fs.writeFileSync(path.join(dataDir, 'plinth.yaml'), `port: ${filePort}\nlogLevel: warn\n`);
    serve = spawn(process.execPath, [bin, 'serve', '--data-dir', dataDir], {
      env: cleanEnv({ PLINTH_PORT: String(envPort) }),
      cwd: repoRoot,
    });
    serve.stdout?.on('data', (d: Buffer) => (serveLog += d.toString()));
    serve.stderr?.on('data', (d: Buffer) => (serveLog += d.toString()));
    url = `http://127.0.0.1:${envPort}`;
    await waitForHealth(`${url}/api/v1/health`, serve, () => serveLog);
  });

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve?.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
  });

  it('listens on PLINTH_PORT, not on the port in plinth.yaml', async () => {
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${filePort}/api/v1/health`)).rejects.toThrow();
  });

  it('plans without writing: create, then unchanged and update with the changed field; errors exit 1', async () => {
    const dir = tempDir('plan');
    const file = path.join(dir, 'product.yaml');
    const entity = (description: string) =>
      [
        'entities:',
        '  - name: product',
        `    description: ${description}`,
        '    joinKeys:',
        '      - { name: product_id, type: int64 }',
        '',
      ].join('\n');
    fs.writeFileSync(file, entity('An item'));
    const first = await plinth(['plan', file, '--control-plane', url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('entity product: create\nPlan: 1 to create, 0 to update, 0 unchanged.\n');
    expect(
      ((await (await fetch(`${url}/api/v1/entities`)).json()) as { items: { name: string }[] }).items.map(
        (e) => e.name,
      ),
    ).not.toContain('product');

    expect((await plinth(['apply', file, '--control-plane', url])).code).toBe(0);
    expect((await plinth(['plan', file, '--control-plane', url])).stdout).toContain('entity product: unchanged');
    fs.writeFileSync(file, entity('Something we sell'));
    const update = await plinth(['plan', file, '--control-plane', url]);
    expect(update.stdout).toContain('entity product: update (version 1 -> new version): /description');

    fs.writeFileSync(file, 'entities:\n  - { name: Product, joinKeys: [] }\n');
    const bad = await plinth(['plan', file, '--control-plane', url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('/entities/0/name');
  });

  it('applies a valid file, and reports an invalid feature view with its field pointer', async () => {
    const dir = tempDir('defs');
    const good = path.join(dir, 'good.yaml');
    fs.writeFileSync(
      good,
      ['entities:', '  - name: user', '    joinKeys:', '      - { name: user_id, type: int64 }', ''].join('\n'),
    );
    const r = await plinth(['apply', good, '--control-plane', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('entity user: version 1\n');
    const again = await plinth(['apply', good], { PLINTH_URL: url });
    expect(again.stdout).toBe('entity user: version 1 (unchanged)\n');

    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      bad,
      [
        'featureViews:',
        '  - name: user_stats',
        '    entities: [user, shop]',
        '    sql: SELECT 1 AS user_id',
        '    timestampColumn: ts',
        '    features:',
        '      - { name: n, type: float64 }',
        '',
      ].join('\n'),
    );
    const failed = await plinth(['apply', bad, '--control-plane', url]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Invalid definition/);
    expect(failed.stderr).toMatch(/\/entities\/1: entity 'shop' does not exist/);
    const list = (await (await fetch(`${url}/api/v1/feature-views`)).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);

    const schemaBad = path.join(dir, 'schema-bad.yaml');
    fs.writeFileSync(
      schemaBad,
      ['entities:', '  - name: shop', '    joinKeys:', '      - { name: shop_id, type: uuid }', ''].join('\n'),
    );
    const invalid = await plinth(['apply', schemaBad, '--control-plane', url]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('/joinKeys/0/type');

    fs.writeFileSync(path.join(dir, 'typo.yaml'), 'entitys: []\n');
    const typo = await plinth(['apply', path.join(dir, 'typo.yaml'), '--control-plane', url]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(`${path.join(dir, 'typo.yaml')}: unknown section 'entitys'`);
  });

  it('materializes with progress and lists the run; bad flags, unknown views and failed runs exit 1', async () => {
    await writeParquet(
      path.join(dataDir, 'lake', 'visits', 'v.parquet'),
      `SELECT (i % 3)::BIGINT AS user_id, TIMESTAMP '2026-01-01' + i * INTERVAL 1 HOUR AS ts, i::DOUBLE AS n FROM range(10) t(i)`,
    );
    const dir = tempDir('defs-mat');
    const file = path.join(dir, 'v.yaml');
    fs.writeFileSync(
      file,
      [
        'entities:',
        '  - { name: user, joinKeys: [{ name: user_id, type: int64 }] }',
        'dataSources:',
        '  - { name: visits, path: visits, format: parquet }',
        'featureViews:',
        '  - name: visit_n',
        '    entities: [user]',
        '    sources: [visits]',
        '    sql: SELECT user_id, ts, n FROM visits',
        '    timestampColumn: ts',
        '    features: [{ name: n, type: float64 }]',
        '    description: Visits so far per user',
        'labelViews:',
        '  - name: visit_label',
        '    entities: [user]',
        '    sources: [visits]',
        '    sql: SELECT user_id, ts + INTERVAL 30 MINUTE AS ts, (n > 5)::INT AS y FROM visits',
        '    timestampColumn: ts',
        '    labels: [{ name: y, type: int32 }]',
        '',
      ].join('\n'),
    );
    expect((await plinth(['apply', file, '--control-plane', url])).code).toBe(0);
    const full = await plinth(['materialize', 'visit_n', '--control-plane', url]);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stderr).toMatch(/materialize visit_n: \d+%/);
    expect(full.stderr).toMatch(/visit_n@1: full run, 10 rows committed, 3 entities written online/);
    const inc = await plinth(['materialize', 'visit_n', '--incremental', '--control-plane', url]);
    expect(inc.stderr).toMatch(/visit_n@1: incremental run, 0 rows committed/);

    const jobs = await plinth(['jobs', '--subject', 'visit_n', '--control-plane', url]);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.stdout.trim().split('\n')).toHaveLength(2);
    expect(jobs.stdout).toMatch(/materialize visit_n\s+succeeded attempt 1\/3/);

    // Operators reach the catalog, a view's metadata and example sets from the CLI too.
    const found = await plinth(['catalog', 'visits', 'per', 'user', '--control-plane', url]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toMatch(/^feature-view\s+visit_n@1\s+Visits so far per user/m);
    expect((await plinth(['catalog', 'zebra', '--control-plane', url])).stdout).toBe('no matches\n');
    const described = await plinth(['describe', 'visit_n', '--control-plane', url]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/offline: 10 rows in 1 files/);
    expect(described.stdout).toMatch(/^ {2}n\s+float64\s+feature$/m);
    expect(described.stdout).toMatch(/last run: succeeded/);
    expect((await plinth(['materialize', 'visit_label', '--control-plane', url])).code).toBe(0);
    const built = await plinth([
      'build-example-set',
      'visit_train',
      '--label-view',
      'visit_label',
      '--features',
      'visit_n',
      '--control-plane',
      url,
    ]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/visit_train@1: 10 rows at file:\/\//);
    const noFeatures = await plinth(['build-example-set', 'x', '--label-view', 'visit_label', '--control-plane', url]);
    expect(noFeatures.code).toBe(1);
    expect(noFeatures.stderr).toMatch(/\/features: is required unless featureService is given/);
    const badKind = await plinth(['delete', 'view', 'visit_n', '--control-plane', url]);
    expect(badKind.code).toBe(1);
    expect(badKind.stderr).toMatch(/unknown kind 'view' \(one of entity, data-source, feature-view/);

    const badTime = await plinth(['materialize', 'visit_n', '--start', 'yesterday', '--control-plane', url]);
    expect(badTime.code).toBe(1);
    expect(badTime.stderr).toMatch(/--start: expected an ISO 8601 time, got 'yesterday'/);
    const unknown = await plinth(['materialize', 'nope', '--control-plane', url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no feature view or label view is named 'nope'/);
    fs.writeFileSync(path.join(dataDir, 'lake', 'visits', 'v.parquet'), 'broken');
    const failed = await plinth(['materialize', 'visit_n', '--control-plane', url]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/visit_n.*v\.parquet/);
  });

  it('pushes JSON Lines into the online store, checking every line first; reports, expires and deletes online data', async () => {
    // Runs after the materialization test above: visit_n is applied and materialized (3 users).
    const dir = tempDir('push');
    const good = path.join(dir, 'good.jsonl');
    fs.writeFileSync(
      good,
      [
        JSON.stringify({ user_id: 1, ts: '2027-01-01T00:00:00Z', n: 100 }),
        '',
        JSON.stringify({ user_id: 7, ts: 1798761600000, n: 7 }),
        JSON.stringify({ user_id: 1, ts: '2020-01-01T00:00:00Z', n: -1 }),
      ].join('\n'),
    );
    const pushed = await plinth(['push', 'visit_n', good, '--control-plane', url]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/visit_n: 2 rows written, 1 skipped \(older than the stored value\)/);
    const status = await plinth(['online', 'status', 'visit_n', '--control-plane', url]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^visit_n: 4 entities, \d+ bytes in LMDB at /);

    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(
      bad,
      [JSON.stringify({ user_id: 2, ts: '2027-01-01T00:00:00Z', n: 5 }), '{"user_id": 3,'].join('\n'),
    );
    const notJson = await plinth(['push', 'visit_n', bad, '--control-plane', url]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain(`${bad}:2: not JSON`);
    fs.writeFileSync(
      bad,
      [
        JSON.stringify({ user_id: 2, ts: '2027-01-01T00:00:00Z', n: 5 }),
        JSON.stringify({ user_id: 'x', ts: 'soon', n: 1 }),
      ].join('\n'),
    );
    const badRow = await plinth(['push', 'visit_n', bad, '--control-plane', url]);
    expect(badRow.code).toBe(1);
    expect(badRow.stderr).toContain(`${bad}:2: user_id: join key must be an integer`);
    expect(badRow.stderr).toContain(`${bad}:2: ts: must be an ISO 8601 time or epoch milliseconds`);
    expect(badRow.stderr).toMatch(/nothing was pushed/);
    // Line 1 was valid but not sent: still 4 entities.
    expect((await plinth(['online', 'status', 'visit_n', '--control-plane', url])).stdout).toMatch(/4 entities/);

    // User 1 was pushed since (newer online), users 2 and 3 match their offline values.
    const check = await plinth(['online', 'check', 'visit_n', '--control-plane', url]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^visit_n: 0\.00% mismatched of 3 sampled entities/);
    expect(check.stdout).toMatch(/differing 0 of 2 compared, newer online \(pushed since\) 1/);

    const expire = await plinth(['online', 'expire', 'visit_n', '--control-plane', url]);
    expect(expire.code).toBe(1);
    expect(expire.stderr).toMatch(/has no TTL/);
    const del = await plinth(['online', 'delete', 'visit_n', '--control-plane', url]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/visit_n: 4 entities removed from the online store/);
    const lost = await plinth(['online', 'check', 'visit_n', '--sample', '2', '--control-plane', url]);
    expect(lost.code).toBe(2);
    expect(lost.stdout).toMatch(/^visit_n: 100\.00% mismatched of 2 sampled entities\n {2}missing online 2,/);
    expect(lost.stdout).toMatch(/e\.g\. \{"user_id":\d\} \(missing\)/);
    expect((await plinth(['online', 'check', 'visit_n', '--sample', '0', '--control-plane', url])).code).toBe(1);
    expect((await plinth(['push', 'nope', good, '--control-plane', url])).code).toBe(1);
  });

  it('reports an unreachable control plane', async () => {
    const dir = tempDir('defs2');
    const file = path.join(dir, 'e.yaml');
    fs.writeFileSync(file, 'entities:\n  - { name: user, joinKeys: [{ name: user_id, type: int64 }] }\n');
    const r = await plinth(['apply', file, '--control-plane', `http://127.0.0.1:${filePort}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Server unreachable/);
  });
});
