import * as React from 'react';
import { type CatalogSource, describeError, type FeatureViewRecord } from '../api';

export type LoadState =
  | { status: 'loading' }
  | { status: 'ready'; items: FeatureViewRecord[] }
  | { status: 'error'; url: string; message: string };

/**
 * Loads the feature views whenever the source (i.e. the settings) or `generation` (the
 * refresh button) changes. A stale answer from an older request is dropped.
 */
export function useFeatureViews(source: CatalogSource, generation: number): LoadState {
  const [state, setState] = React.useState<LoadState>({ status: 'loading' });
  React.useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    source.listFeatureViews().then(
      ({ items }) => current && setState({ status: 'ready', items }),
      (e: unknown) => current && setState({ status: 'error', url: source.featureViewsUrl, message: describeError(e) }),
    );
    return () => {
      current = false;
    };
  }, [source, generation]);
  return state;
}
