import * as React from 'react';
import { ReactWidget } from '@jupyterlab/apputils';
import type { CatalogSource } from '../api';
import { plinthIcon } from '../icons';
import { Catalog } from './Catalog';

/** The left sidebar widget hosting the React catalog. */
export class CatalogWidget extends ReactWidget {
  // null until the settings are read: no request goes to a URL the user has overridden.
  private source: CatalogSource | null;
  private generation = 0;

  constructor(source: CatalogSource | null = null) {
    super();
    this.source = source;
    this.id = 'plinth-catalog';
    this.title.icon = plinthIcon;
    this.title.caption = 'Plinth';
    this.title.label = '';
    this.addClass('jp-PlinthCatalogWidget');
  }

  /** New settings: a new source, which makes the list reload. */
  setSource(source: CatalogSource): void {
    this.source = source;
    this.update();
  }

  refresh(): void {
    this.generation += 1;
    this.update();
  }

  protected render(): JSX.Element {
    if (!this.source) return <div className="jp-PlinthCatalog jp-PlinthCatalog-loading">Loading settings…</div>;
    return <Catalog source={this.source} refreshGeneration={this.generation} />;
  }
}
