import { buildIcon, kernelIcon, treeViewIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from '../commands';
import type { PanelSpec } from './shell';

/** The main-area panels, keyed by the command that opens each. */
export const PANELS: Record<string, PanelSpec> = {
  [CommandIDs.openPipelineBuilder]: {
    id: 'plinth-pipeline-builder',
    label: 'Pipeline Builder',
    icon: buildIcon,
    description:
      'Compose a serving pipeline - online and request-time features, a transformer, a model and a post-processor - compiled to one ONNX graph.',
    planned: [
      'Pick features from the catalog and the model version to serve',
      'Preview the compiled graph and check it against the notebook on sample rows',
      'Publish to the model repository and deploy to the inference tier',
    ],
  },
  [CommandIDs.openExperiments]: {
    id: 'plinth-experiments',
    label: 'Experiments',
    icon: treeViewIcon,
    description:
      'Training runs and online experiments: parameters, metrics and artifacts; variants and their analysis.',
    planned: [
      'Runs tracked from notebooks and the training cluster, compared side by side',
      'A/B tests and bandits over deployments, with sample-ratio-mismatch checks',
      'Analysis from the prediction log joined with outcomes',
    ],
  },
  [CommandIDs.openModels]: {
    id: 'plinth-models',
    label: 'Models',
    icon: kernelIcon,
    description: 'The model repository: versions, aliases (production, staging), metadata and lineage.',
    planned: [
      'Every version with its example set, run and pipeline lineage',
      'Move aliases and roll deployments forward or back',
      'Monitoring: drift and operational metrics per deployment',
    ],
  },
};
