export * from './types';
export * from './entity-key';
export * from './value-codec';
export * from './lmdb-store';
export * from './redis-store';
export * from './open-store';
export * from './read-features';
export * from './feature-reader';
