export * from './generated/types';
export { schemas } from './generated/schemas';
export * from './problem';
export * from './validate';
export * from './api-types';
export * from './client';
export { buildOpenApi, registryKinds, type RegistryPath } from './openapi';
