import * as React from 'react';
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import { type CatalogSource, describeError, type FeatureViewRecord, type ViewMetadata } from '../api';
import { describeFreshness } from './freshness';

type MetadataState =
  { status: 'loading' } | { status: 'ready'; meta: ViewMetadata } | { status: 'error'; message: string };

/** Loads a view's metadata while `open`; again on each opening, since freshness changes. */
function useViewMetadata(source: CatalogSource, name: string, open: boolean): MetadataState {
  const [state, setState] = React.useState<MetadataState>({ status: 'loading' });
  React.useEffect(() => {
    if (!open) return;
    let current = true;
    setState({ status: 'loading' });
    source.getViewMetadata(name).then(
      (meta) => current && setState({ status: 'ready', meta }),
      (e: unknown) => current && setState({ status: 'error', message: describeError(e) }),
    );
    return () => {
      current = false;
    };
  }, [source, name, open]);
  return state;
}

function Freshness({ state }: { state: MetadataState }): JSX.Element {
  if (state.status === 'loading') return <div className="jp-PlinthCatalog-freshness">Loading data status…</div>;
  if (state.status === 'error')
    return <div className="jp-PlinthCatalog-freshness jp-mod-error">Data status unavailable: {state.message}</div>;
  const { lines, stale } = describeFreshness(state.meta);
  return (
    <div className={`jp-PlinthCatalog-freshness${stale ? ' jp-mod-stale' : ''}`} aria-label="Data status">
      {lines.map((l) => (
        <div key={l}>{l}</div>
      ))}
    </div>
  );
}

/** One feature view: a summary line that expands to its data status and features. */
export function FeatureViewItem({ view, source }: { view: FeatureViewRecord; source: CatalogSource }): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const metadata = useViewMetadata(source, view.name, open);
  const { spec } = view;
  const Caret = open ? caretDownIcon : caretRightIcon;
  const n = spec.features.length;
  return (
    <li className="jp-PlinthCatalog-item" data-feature-view={view.name}>
      <button
        className="jp-PlinthCatalog-itemHeader"
        aria-expanded={open}
        title={open ? 'Hide features' : 'Show features'}
        onClick={() => setOpen(!open)}
      >
        <Caret.react tag="span" className="jp-PlinthCatalog-caret" />
        <span className="jp-PlinthCatalog-name">{view.name}</span>
        <span className="jp-PlinthCatalog-version">v{view.version}</span>
      </button>
      <div className="jp-PlinthCatalog-meta">
        <span title="Entities">{spec.entities.join(', ')}</span>
        <span>
          {n} feature{n === 1 ? '' : 's'}
        </span>
        {spec.team && <span title="Team">team {spec.team}</span>}
        {spec.online && <span title="Served from the online store">online</span>}
      </div>
      {spec.description && <div className="jp-PlinthCatalog-description">{spec.description}</div>}
      {open && <Freshness state={metadata} />}
      {open && (
        // Stacked rather than a table: the sidebar is narrow and descriptions are long.
        <ul className="jp-PlinthCatalog-features" aria-label={`Features of ${view.name}`}>
          {spec.features.map((f) => (
            <li key={f.name} className="jp-PlinthCatalog-feature">
              <span className="jp-PlinthCatalog-featureName">{f.name}</span>{' '}
              <span className="jp-PlinthCatalog-featureType">{f.type}</span>
              {f.description && <div className="jp-PlinthCatalog-featureDescription">{f.description}</div>}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
