import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, type MainAreaWidget } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { Widget } from '@lumino/widgets';
import { createCatalogSource } from './api';
import { CatalogWidget } from './catalog/CatalogWidget';
import { CATEGORY, CommandIDs } from './commands';
import { plinthIcon } from './icons';
import { createShellPanel } from './panels/shell';
import { PANELS } from './panels/specs';
import { DEFAULT_SETTINGS, readSettings } from './settings';

export const PLUGIN_ID = '@plinth/jupyterlab:plugin';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Plinth: feature catalog sidebar and the Pipeline Builder, Experiments and Models panels.',
  autoStart: true,
  optional: [ISettingRegistry, ICommandPalette, ILauncher, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
  ) => {
    const server = app.serviceManager.serverSettings;
    const catalog = new CatalogWidget();
    app.shell.add(catalog, 'left', { rank: 850 });
    restorer?.add(catalog, 'plinth-catalog');

    const useDefaults = () => catalog.setSource(createCatalogSource(DEFAULT_SETTINGS, server));
    if (registry) {
      registry
        .load(PLUGIN_ID)
        .then((settings) => {
          const apply = () => catalog.setSource(createCatalogSource(readSettings(settings), server));
          apply();
          settings.changed.connect(apply);
        })
        .catch((e: unknown) => {
          console.warn('Plinth: cannot load settings, using defaults', e);
          useDefaults();
        });
    } else {
      useDefaults();
    }

    app.commands.addCommand(CommandIDs.openCatalog, {
      label: 'Feature Catalog',
      caption: 'Show the Plinth feature catalog',
      icon: plinthIcon,
      execute: () => app.shell.activateById(catalog.id),
    });
    app.commands.addCommand(CommandIDs.refreshCatalog, {
      label: 'Refresh Feature Catalog',
      execute: () => catalog.refresh(),
    });

    // One instance per panel: the command re-activates it when it is open.
    const open = new Map<string, MainAreaWidget<Widget>>();
    for (const [command, spec] of Object.entries(PANELS)) {
      app.commands.addCommand(command, {
        label: spec.label,
        caption: `Open the Plinth ${spec.label}`,
        icon: spec.icon,
        execute: () => {
          let widget = open.get(command);
          if (!widget || widget.isDisposed) {
            widget = createShellPanel(spec);
            open.set(command, widget);
          }
          if (!widget.isAttached) app.shell.add(widget, 'main');
          app.shell.activateById(widget.id);
          // Returning the widget lets a launcher tab close itself, as for new notebooks.
          return widget;
        },
      });
    }

    const commands = [CommandIDs.openCatalog, ...Object.keys(PANELS)];
    commands.forEach((command, rank) => {
      palette?.addItem({ command, category: CATEGORY, rank });
      launcher?.add({ command, category: CATEGORY, rank });
    });
    palette?.addItem({ command: CommandIDs.refreshCatalog, category: CATEGORY, rank: commands.length });
  },
};

export default plugin;
