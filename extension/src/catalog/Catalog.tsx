import * as React from 'react';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { CatalogSource } from '../api';
import { FeatureViewItem } from './FeatureViewItem';
import { filterFeatureViews } from './filter';
import { type LoadState, useFeatureViews } from './useFeatureViews';

export interface CatalogProps {
  source: CatalogSource;
  /** Bumped by the refresh command; the button bumps a local counter as well. */
  refreshGeneration: number;
}

/** The Feature Catalog: toolbar, search and the list of feature views. */
export function Catalog({ source, refreshGeneration }: CatalogProps): JSX.Element {
  const [localGeneration, setLocalGeneration] = React.useState(0);
  const [query, setQuery] = React.useState('');
  const state = useFeatureViews(source, refreshGeneration + localGeneration);
  return (
    <div className="jp-PlinthCatalog">
      <header className="jp-PlinthCatalog-header">
        <div>
          <h2 className="jp-PlinthCatalog-title">Plinth</h2>
          <div className="jp-PlinthCatalog-subtitle">Feature Catalog</div>
        </div>
        <button
          className="jp-PlinthCatalog-refresh jp-mod-minimal jp-Button"
          title="Refresh the feature catalog"
          aria-label="Refresh"
          onClick={() => setLocalGeneration((g) => g + 1)}
        >
          <refreshIcon.react tag="span" />
        </button>
      </header>
      <input
        className="jp-PlinthCatalog-search jp-mod-styled"
        type="search"
        placeholder="Search feature views"
        aria-label="Search feature views"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <CatalogBody state={state} query={query} source={source} />
    </div>
  );
}

function CatalogBody({
  state,
  query,
  source,
}: {
  state: LoadState;
  query: string;
  source: CatalogSource;
}): JSX.Element {
  switch (state.status) {
    case 'loading':
      return <div className="jp-PlinthCatalog-loading">Loading feature views…</div>;
    case 'error':
      return (
        <div className="jp-PlinthCatalog-error" role="alert">
          <p>
            <strong>Cannot load the feature catalog.</strong>
          </p>
          <p>
            Tried <code className="jp-PlinthCatalog-errorUrl">{state.url}</code>
          </p>
          <p className="jp-PlinthCatalog-errorMessage">{state.message}</p>
          <p>Is the Plinth control plane running? Check the “Control plane URL” in Settings → Plinth.</p>
        </div>
      );
    case 'ready': {
      const shown = filterFeatureViews(state.items, query);
      if (state.items.length === 0) {
        return <div className="jp-PlinthCatalog-empty">No feature views yet. Apply one with `plinth apply`.</div>;
      }
      if (shown.length === 0) return <div className="jp-PlinthCatalog-empty">No feature view matches “{query}”.</div>;
      return (
        <ul className="jp-PlinthCatalog-list" aria-label="Feature views">
          {shown.map((fv) => (
            <FeatureViewItem key={fv.name} view={fv} source={source} />
          ))}
        </ul>
      );
    }
  }
}
