import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests import workspace packages from source, so `npm test` needs no prior build.
export default defineConfig({
  resolve: {
    alias: {
      '@plinth/schema': src('./schema/src/index.ts'),
      '@plinth/kernel-lib': src('./kernel-lib/src/index.ts'),
    },
  },
  test: {
    include: ['{schema,kernel-lib,server,extension}/src/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['./vitest.build.mts'],
  },
});
