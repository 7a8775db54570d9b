import { MainAreaWidget } from '@jupyterlab/apputils';
import type { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

/** A main-area panel that is not built yet: what it is and what will come. */
export interface PanelSpec {
  id: string;
  label: string;
  icon: LabIcon;
  /** One paragraph on what the panel is for. */
  description: string;
  /** Bullet points of what will come. */
  planned: string[];
}

/** Plain DOM: the shells have no state, so React would add nothing. */
export function createShellPanel(spec: PanelSpec): MainAreaWidget<Widget> {
  const content = new Widget();
  content.addClass('jp-PlinthPanel');
  const h = document.createElement('h1');
  h.textContent = spec.label;
  const p = document.createElement('p');
  p.textContent = spec.description;
  const ul = document.createElement('ul');
  for (const item of spec.planned) {
    const li = document.createElement('li');
    li.textContent = item;
    ul.appendChild(li);
  }
  content.node.append(h, p, ul);

  const widget = new MainAreaWidget({ content });
  widget.id = spec.id;
  widget.title.label = spec.label;
  widget.title.icon = spec.icon;
  widget.title.closable = true;
  return widget;
}
