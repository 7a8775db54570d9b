import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Some tests run the real CLI (server/bin/plinth.js -> server/dist): build once before any
// test file starts, rather than in each file at the same time. Incremental, so quick.
export default function setup(): void {
  const root = fileURLToPath(new URL('.', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'schema', 'kernel-lib', 'server'], {
    cwd: root,
    stdio: 'inherit',
  });
}
