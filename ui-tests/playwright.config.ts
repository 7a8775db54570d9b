/**
 * UI tests against a real JupyterLab (from the venv) and a real Plinth control plane.
 * Both are started here as web servers; nothing is mocked except JupyterLab's user
 * settings (Galata's default), which is where the tests set the extension's serverUrl.
 */
import { defineConfig } from '@playwright/test';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const PLINTH_PORT = Number(process.env.PLINTH_UI_PORT ?? 18787);
const INFER_PORT = Number(process.env.PLINTH_UI_INFER_PORT ?? 18788);
const JUPYTER_PORT = Number(process.env.PLINTH_UI_JUPYTER_PORT ?? 18888);
// Reuse servers a developer left running; CI always starts fresh ones.
const reuseExistingServer = !process.env.CI;

export default defineConfig({
  ...baseConfig,
  testDir: './tests',
  // Never open (and serve) the HTML report: runs are headless, also outside CI.
  reporter: [[process.env.CI ? 'github' : 'list'], ['html', { open: 'never' }]],
  // Both specs share one JupyterLab and one Plinth server.
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${JUPYTER_PORT}`,
    headless: true,
    // Video needs Playwright's own ffmpeg download; traces are enough to debug failures.
    video: 'off',
    launchOptions: {
      // Debian's chromium; Playwright never downloads a browser here.
      executablePath: process.env.PLINTH_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    {
      // The Plinth platform without JupyterLab: demo lake (generated once into .data),
      // control plane and inference tier, demo definitions applied.
      command:
        `node ../server/bin/plinth.js up --no-jupyter --data-dir .data ` +
        `--port ${PLINTH_PORT} --infer-port ${INFER_PORT} --demo-size tiny`,
      url: `http://127.0.0.1:${PLINTH_PORT}/api/v1/health`,
      timeout: 180_000,
      reuseExistingServer,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: 'bash scripts/start-jupyter.sh',
      url: `http://127.0.0.1:${JUPYTER_PORT}/lab`,
      timeout: 120_000,
      reuseExistingServer,
      env: { PLINTH_UI_JUPYTER_PORT: String(JUPYTER_PORT) },
    },
  ],
});
