import fs from 'node:fs';
import path from 'node:path';
import { generateDemoLake } from '../demo/generate';
import { ProgressLine } from './progress';

export type DemoSize = 'tiny' | 'small' | 'medium' | 'large';

/** Yesterday (UTC) as YYYY-MM-DD: the demo's last day, so its features are fresh today. */
export function yesterday(now = new Date()): string {
  return new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
}

export async function writeDemoLake(opts: {
  lakeDir: string;
  size: DemoSize;
  seed: number;
  days: number;
  endDate: string;
  overwrite: boolean;
}): Promise<void> {
  const bar = new ProgressLine(`Generating the ${opts.size} demo lake`);
  const t0 = Date.now();
  const summary = await generateDemoLake({
    lakeDir: opts.lakeDir,
    size: opts.size,
    seed: opts.seed,
    days: opts.days,
    endDate: opts.endDate,
    overwrite: opts.overwrite,
    onProgress: (done, total, what) => bar.update(done, total, what),
  });
  const counts = (summary as unknown as { rowCounts?: Record<string, number> }).rowCounts;
  const detail = counts
    ? Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '';
  bar.done(
    `Demo lake written to ${opts.lakeDir} in ${((Date.now() - t0) / 1000).toFixed(1)}s${detail ? `: ${detail}` : ''}`,
  );
}

/** Generates the demo lake unless one is there already (first run of `plinth up`). */
export async function ensureDemoLake(lakeDir: string, size: DemoSize): Promise<void> {
  if (fs.existsSync(path.join(lakeDir, '_demo.json'))) return;
  if (fs.existsSync(lakeDir) && fs.readdirSync(lakeDir).length > 0) {
    throw new Error(`${lakeDir} holds data that is not a Plinth demo lake; pass --no-demo or another --data-dir`);
  }
  await writeDemoLake({ lakeDir, size, seed: 42, days: 30, endDate: yesterday(), overwrite: false });
}
