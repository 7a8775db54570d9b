import * as path from 'path';
import { expect, galata, type IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { ConsoleMessage } from '@playwright/test';

const PLUGIN_ID = '@plinth/jupyterlab:plugin';
const PLINTH_PORT = Number(process.env.PLINTH_UI_PORT ?? 18787);
const SCREENSHOT = path.join(__dirname, '..', 'screenshots', 'catalog.png');
const ERROR_SCREENSHOT = path.join(__dirname, '..', 'screenshots', 'catalog-error.png');

/** Galata keeps user settings in memory per test; this is where serverUrl is set. */
function withServerUrl(serverUrl: string): Record<string, unknown> {
  return { ...galata.DEFAULT_SETTINGS, [PLUGIN_ID]: { serverUrl } };
}

/** Loads JupyterLab, recording console errors and uncaught exceptions from the start. */
async function openLab(page: IJupyterLabPageFixture): Promise<string[]> {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto();
  await page.sidebar.openTab('plinth-catalog');
  return errors;
}

async function runFromPalette(page: IJupyterLabPageFixture, label: string): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await palette.locator('.lm-CommandPalette-input').fill(label);
  await palette.locator('.lm-CommandPalette-item', { hasText: label }).first().click();
}

test.describe('Plinth feature catalog (real server)', () => {
  test.use({ autoGoto: false, mockSettings: withServerUrl(`proxy/${PLINTH_PORT}/`) });

  test('lists the demo feature views and opens the panels', async ({ page }) => {
    const errors = await openLab(page);
    const catalog = page.locator('#plinth-catalog');
    await expect(catalog.getByRole('heading', { name: 'Plinth' })).toBeVisible();

    // Real data from the control plane, through jupyter-server-proxy.
    const item = (name: string) => catalog.locator(`.jp-PlinthCatalog-item[data-feature-view="${name}"]`);
    await expect(item('user_features')).toBeVisible({ timeout: 30_000 });
    await expect(item('product_features')).toBeVisible();
    await expect(item('user_features')).toContainText('user');
    await expect(item('product_features')).toContainText('team catalog');

    // Expanding shows the data status (the demo views are scheduled daily and not yet
    // materialized here) and every feature with its type.
    await item('user_features').locator('.jp-PlinthCatalog-itemHeader').click();
    const status = item('user_features').getByLabel('Data status');
    await expect(status).toContainText('Not materialized yet', { timeout: 30_000 });
    await expect(status).toContainText('Updates every 1 d (0 2 * * * UTC)');
    const rows = item('user_features').locator('.jp-PlinthCatalog-feature');
    expect(await rows.count()).toBeGreaterThan(0);
    await expect(rows.first().locator('.jp-PlinthCatalog-featureType')).toHaveText(/\w+/);

    // The search box filters by name and description.
    const search = catalog.getByRole('searchbox', { name: 'Search feature views' });
    await search.fill('product');
    await expect(item('product_features')).toBeVisible();
    await expect(item('user_features')).toHaveCount(0);
    await search.fill('');
    await expect(item('user_features')).toBeVisible();

    // The refresh button reloads the same list.
    await catalog.getByRole('button', { name: 'Refresh' }).click();
    await expect(item('product_features')).toBeVisible({ timeout: 30_000 });

    // Panels: Pipeline Builder from the command palette ...
    await runFromPalette(page, 'Pipeline Builder');
    await expect(page.locator('#plinth-pipeline-builder h1')).toHaveText('Pipeline Builder');

    // ... Experiments and Models from the launcher's Plinth section.
    for (const label of ['Experiments', 'Models']) {
      await page.menu.clickMenuItem('File>New Launcher');
      const section = page.locator('.jp-Launcher-section', { hasText: 'Plinth' }).last();
      await section.locator('.jp-LauncherCard', { hasText: label }).click();
      await expect(page.locator('.jp-PlinthPanel h1', { hasText: label })).toBeVisible();
    }
    // The launcher sections' cards replaced their launcher tabs (the command returns the panel).
    await expect(page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'Experiments' })).toHaveCount(1);

    // Running the command again re-activates the open panel instead of adding a second one.
    await runFromPalette(page, 'Pipeline Builder');
    await expect(page.locator('#plinth-pipeline-builder')).toBeVisible();
    await expect(page.locator('.jp-PlinthPanel h1', { hasText: 'Pipeline Builder' })).toHaveCount(1);

    // Screenshot: catalog with user_features expanded beside the Pipeline Builder.
    await item('user_features').locator('.jp-PlinthCatalog-itemHeader').click();
    await expect(item('user_features').locator('.jp-PlinthCatalog-features')).toBeVisible();
    await page.screenshot({ path: SCREENSHOT });

    expect(errors).toEqual([]);
  });
});

// Nothing listens on this port. Through the proxy, Jupyter answers with an error page; an
// absolute URL fails in the browser itself. Both must name the URL tried.
const UNUSED_PORT = PLINTH_PORT + 11;
const unreachable = [
  { kind: 'proxied', serverUrl: `proxy/${UNUSED_PORT}/`, shown: `/proxy/${UNUSED_PORT}/api/v1/feature-views` },
  {
    kind: 'absolute',
    serverUrl: `http://127.0.0.1:${UNUSED_PORT}/`,
    shown: `http://127.0.0.1:${UNUSED_PORT}/api/v1/feature-views`,
  },
];

for (const { kind, serverUrl, shown } of unreachable) {
  test.describe(`Plinth feature catalog (${kind} server unreachable)`, () => {
    test.use({ autoGoto: false, mockSettings: withServerUrl(serverUrl) });

    test('shows the error state naming the URL tried', async ({ page }) => {
      await openLab(page);
      const catalog = page.locator('#plinth-catalog');
      const error = catalog.locator('.jp-PlinthCatalog-error');
      await expect(error).toBeVisible({ timeout: 30_000 });
      await expect(error.locator('.jp-PlinthCatalog-errorUrl')).toContainText(shown);
      await expect(catalog.locator('.jp-PlinthCatalog-item')).toHaveCount(0);
      if (kind === 'proxied') await catalog.screenshot({ path: ERROR_SCREENSHOT });
    });
  });
}
