/** Command ids, also the public surface other extensions and tests use. */
export const CommandIDs = {
  openCatalog: 'plinth:open-catalog',
  openPipelineBuilder: 'plinth:open-pipeline-builder',
  openExperiments: 'plinth:open-experiments',
  openModels: 'plinth:open-models',
  refreshCatalog: 'plinth:refresh-catalog',
} as const;

/** Palette and launcher category. */
export const CATEGORY = 'Plinth';
