export * from './config';
export * from './platform';
export { createControlPlane } from './http/control-plane';
export { createInferenceServer } from './inference/server';
export type * from './stores/types';
