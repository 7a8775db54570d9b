/** Where the extension sends API requests; pure so it can be reasoned about in isolation. */

export const DEFAULT_SERVER_URL = 'proxy/8787/';

/**
 * Resolves the `serverUrl` setting against JupyterLab's base URL.
 *
 * - `proxy/8787/` (no leading slash): below JupyterLab's base URL, e.g.
 *   `https://hub.example.com/user/ana/proxy/8787/` - same origin through jupyter-server-proxy.
 * - `/services/plinth/` (leading slash): an absolute path on JupyterLab's origin, as a
 *   JupyterHub service is mounted next to, not below, the single-user server.
 * - `http://host:8787/`: used as is (that server must allow CORS).
 *
 * The result always ends with `/` so that API paths can be appended.
 */
export function resolveServerUrl(serverUrl: string | undefined, jupyterBaseUrl: string): string {
  const raw = (serverUrl ?? '').trim() || DEFAULT_SERVER_URL;
  // new URL() needs an absolute base; JupyterLab's baseUrl is absolute in the browser.
  const base = jupyterBaseUrl.endsWith('/') ? jupyterBaseUrl : `${jupyterBaseUrl}/`;
  const url = new URL(raw, base).toString();
  return url.endsWith('/') ? url : `${url}/`;
}
