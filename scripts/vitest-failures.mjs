// A vitest reporter that writes what failed (tests, and hooks such as a broker that did not
// start) to the file in PLINTH_FAILURES. scripts/test-all.sh prints it last: CI shows only
// the tail of a long log, where the final counts say that something failed but not what.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { stripVTControlCharacters } from 'node:util';

// Without colours and without the test runner's own stack frames.
const plain = (s, n) => {
  const text = stripVTControlCharacters(String(s ?? ''))
    .split('\n')
    .filter((l) => !/^\s+at .*(node_modules|node:internal|<anonymous>)/.test(l))
    .join('\n')
    .trim();
  return text.length > n ? `${text.slice(0, n)} …` : text;
};

export default class FailuresReporter {
  onFinished(files = [], errors = []) {
    const out = process.env.PLINTH_FAILURES;
    if (!out) return;
    const lines = [];
    const walk = (task, names) => {
      const here = [...names, task.name];
      for (const e of task.result?.state === 'fail' ? (task.result.errors ?? []) : []) {
        const where = task.type === 'test' ? `✗ ${here.join(' › ')}` : `✗ ${task.type} ${here.join(' › ')}`;
        lines.push(`  ${where}\n    ${plain(e.stack ?? e.message, 900).replace(/\n/g, '\n    ')}`);
      }
      for (const t of task.tasks ?? []) walk(t, here);
    };
    for (const f of files) {
      if (f.result?.state !== 'fail') continue;
      lines.push(`FAIL ${path.relative(process.cwd(), f.filepath)}`);
      for (const e of f.result.errors ?? []) lines.push(`  ✗ (file)\n    ${plain(e.stack ?? e.message, 900)}`);
      for (const t of f.tasks ?? []) walk(t, []);
    }
    for (const e of errors) lines.push(`unhandled: ${plain(e?.stack ?? e?.message ?? e, 900)}`);
    if (lines.length) fs.writeFileSync(out, `${lines.join('\n')}\n`);
  }
}
