/**
 * The extension's seam to the control plane. Components depend on `CatalogSource`, not on
 * the HTTP client, so they stay small and the client can change underneath.
 */
import type { FeatureViewRecord, ItemList, ViewMetadata } from '@plinth/schema';
// Deep import on purpose: the package index also exports the Ajv validators and every JSON
// Schema, which the browser bundle does not need. client.js only pulls in problem.js.
import { PlinthClient } from '@plinth/schema/dist/client';
import type { PlinthSettings } from './settings';
import { resolveServerUrl } from './url';

export type { FeatureViewRecord, ViewMetadata };

/** What the Feature Catalog needs from the server. */
export interface CatalogSource {
  /** The URL the catalog list is fetched from (shown in the error state). */
  readonly featureViewsUrl: string;
  listFeatureViews(): Promise<ItemList<FeatureViewRecord>>;
  /** Size, freshness and schedule of a view's data. */
  getViewMetadata(name: string): Promise<ViewMetadata>;
}

/** The parts of JupyterLab's `ServerConnection.ISettings` the fetch wrapper uses. */
export interface JupyterServerSettings {
  readonly baseUrl: string;
  readonly token: string;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Value of a cookie, for the XSRF token Jupyter server checks on non-GET requests. */
function cookie(name: string): string | undefined {
  const m = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]*)`));
  return m ? decodeURIComponent(m[1]) : undefined;
}

/**
 * fetch that authenticates to the Jupyter server for same-origin URLs (the /proxy/ route is a
 * Jupyter handler): browser cookies, the `_xsrf` token, and Jupyter's token when the page
 * has one and no Plinth token already uses the Authorization header.
 */
export function jupyterFetch(server: JupyterServerSettings): FetchLike {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    const sameOrigin = new URL(input, window.location.href).origin === window.location.origin;
    if (sameOrigin) {
      const xsrf = cookie('_xsrf');
      if (xsrf && !headers.has('X-XSRFToken')) headers.set('X-XSRFToken', xsrf);
      if (server.token && !headers.has('Authorization')) headers.set('Authorization', `token ${server.token}`);
    }
    return window.fetch(input, { ...init, headers, credentials: sameOrigin ? 'same-origin' : 'omit' });
  };
}

/** Builds the catalog's data source from the current settings. */
export function createCatalogSource(settings: PlinthSettings, server: JupyterServerSettings): CatalogSource {
  const baseUrl = resolveServerUrl(settings.serverUrl, server.baseUrl);
  const client = new PlinthClient({
    baseUrl,
    token: settings.token || undefined,
    fetch: jupyterFetch(server),
  });
  return {
    featureViewsUrl: `${client.baseUrl}api/v1/feature-views`,
    listFeatureViews: () => client.listFeatureViews(),
    getViewMetadata: (name) => client.getViewMetadata(name),
  };
}

/**
 * One readable line for an error from the client. Server problems carry RFC 9457 details;
 * a proxy error page (HTML) is reduced to its status, as its markup helps nobody.
 */
export function describeError(e: unknown): string {
  const p = (e as { problem?: { status?: number; title?: string; detail?: string } } | null)?.problem;
  if (!p || typeof p.title !== 'string') return e instanceof Error ? e.message : String(e);
  // The client prefixes details with "GET <url>: "; the URL is shown separately.
  const detail = (p.detail ?? '').replace(/^[A-Z]+ \S+: /, '').trim();
  const head = p.status ? `${p.title} (${p.status})` : p.title;
  return detail && !/<[a-z!]/i.test(detail) ? `${head}: ${detail}` : head;
}
