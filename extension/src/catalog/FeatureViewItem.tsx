import * as React from 'react';
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import type { FeatureViewRecord } from '../api';

/** One feature view: a summary line that expands to its features. */
export function FeatureViewItem({ view }: { view: FeatureViewRecord }): JSX.Element {
  const [open, setOpen] = React.useState(false);
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
