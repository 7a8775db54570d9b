import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { OnlineStoreConfig } from '@plinth/kernel-lib';
import { parseS3Uri } from './stores/object/s3-store';

/**
 * Plinth's configuration. Precedence, lowest first: built-in defaults (everything embedded
 * under the data directory), the config file (`<dataDir>/plinth.yaml` or `--config`),
 * environment variables (PLINTH_*), command-line flags.
 */
export interface PlinthConfig {
  /** Root of everything the embedded platform keeps. */
  dataDir: string;
  /** Data lake root that relative data-source paths resolve against. */
  lakeDir: string;
  host: string;
  /** Control plane port. */
  port: number;
  /** Inference tier port. */
  inferPort: number;
  /** URL the inference tier and workers use to reach the control plane. */
  controlPlaneUrl: string;
  /** Public base URL of the inference tier, written into deployments. */
  inferenceUrl: string;
  metadata: { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string };
  /** Embedded LMDB under the data directory, or Redis / Redis Cluster (shared mode). */
  onlineStore: OnlineStoreConfig;
  /** Offline data, example sets and artifacts: a local directory, or S3 (shared mode). */
  objectStore: { kind: 'local'; root: string } | { kind: 's3'; location: string };
  /** How S3 is reached, for the object store and for s3:// lake sources alike. */
  s3: { endpoint?: string; region: string; forcePathStyle: boolean };
  /** Local copies of remote objects and staged s3:// lake tables (DuckDB reads local files). */
  cacheDir: string;
  /** When set, every API request must carry `Authorization: Bearer <token>`. */
  token?: string;
  logLevel: string;
}

export type ConfigOverrides = Partial<{
  dataDir: string;
  lakeDir: string;
  host: string;
  port: number;
  inferPort: number;
  controlPlaneUrl: string;
  metadataUrl: string;
  objectStore: string;
  onlineStore: string;
  redisUsername: string;
  redisPassword: string;
  redisTlsCa: string;
  redisTlsCert: string;
  redisTlsKey: string;
  s3Endpoint: string;
  s3Region: string;
  token: string;
  logLevel: string;
  config: string;
}>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PLINTH_DATA_DIR || path.join(os.homedir(), '.plinth');
}

const FILE_KEYS = new Set([
  'dataDir',
  'lakeDir',
  'host',
  'port',
  'inferPort',
  'controlPlaneUrl',
  'metadataUrl',
  'objectStore',
  'onlineStore',
  'redisUsername',
  'redisPassword',
  'redisTlsCa',
  'redisTlsCert',
  'redisTlsKey',
  's3Endpoint',
  's3Region',
  'token',
  'logLevel',
]);

function readConfigFile(file: string, required: boolean): ConfigOverrides {
  if (!fs.existsSync(file)) {
    if (required) throw new ConfigError(`config file ${file} does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`config file ${file}: expected a mapping of settings`);
  for (const [k, v] of Object.entries(parsed)) {
    if (!FILE_KEYS.has(k))
      throw new ConfigError(`config file ${file}: unknown setting '${k}' (known: ${[...FILE_KEYS].join(', ')})`);
    if ((k === 'port' || k === 'inferPort') && !Number.isInteger(v))
      throw new ConfigError(`config file ${file}: '${k}' must be an integer`);
    if (k !== 'port' && k !== 'inferPort' && typeof v !== 'string')
      throw new ConfigError(`config file ${file}: '${k}' must be a string`);
  }
  return parsed as ConfigOverrides;
}

function envOverrides(env: NodeJS.ProcessEnv): ConfigOverrides {
  const o: ConfigOverrides = {};
  const str = (k: keyof ConfigOverrides, name: string) => {
    if (env[name]) (o as Record<string, unknown>)[k] = env[name];
  };
  str('dataDir', 'PLINTH_DATA_DIR');
  str('lakeDir', 'PLINTH_LAKE_DIR');
  str('host', 'PLINTH_HOST');
  str('controlPlaneUrl', 'PLINTH_URL');
  str('metadataUrl', 'PLINTH_METADATA_URL');
  str('objectStore', 'PLINTH_OBJECT_STORE');
  str('onlineStore', 'PLINTH_ONLINE_STORE');
  str('redisUsername', 'PLINTH_REDIS_USERNAME');
  str('redisPassword', 'PLINTH_REDIS_PASSWORD');
  str('redisTlsCa', 'PLINTH_REDIS_TLS_CA');
  str('redisTlsCert', 'PLINTH_REDIS_TLS_CERT');
  str('redisTlsKey', 'PLINTH_REDIS_TLS_KEY');
  str('s3Endpoint', 'PLINTH_S3_ENDPOINT');
  str('s3Region', 'PLINTH_S3_REGION');
  str('token', 'PLINTH_TOKEN');
  str('logLevel', 'PLINTH_LOG_LEVEL');
  str('config', 'PLINTH_CONFIG');
  for (const [k, name] of [
    ['port', 'PLINTH_PORT'],
    ['inferPort', 'PLINTH_INFER_PORT'],
  ] as const) {
    if (env[name]) o[k] = parsePort(env[name] as string, name);
  }
  return o;
}

export function parsePort(v: string | number, what: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError(`${what} must be a port number (0-65535), got '${v}'`);
  return n;
}

/** Resolves the configuration from defaults, file, environment and flags. */
export function loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): PlinthConfig {
  const fromEnv = envOverrides(env);
  const dataDir = path.resolve(flags.dataDir ?? fromEnv.dataDir ?? defaultDataDir(env));
  const configFile = flags.config ?? fromEnv.config;
  const fromFile = readConfigFile(
    configFile ? path.resolve(configFile) : path.join(dataDir, 'plinth.yaml'),
    !!configFile,
  );
  const merged: ConfigOverrides = { ...fromFile, ...stripUndefined(fromEnv), ...stripUndefined(flags) };
  const host = merged.host ?? '127.0.0.1';
  const port = parsePort(merged.port ?? 8787, 'port');
  const inferPort = parsePort(merged.inferPort ?? 8788, 'inferPort');
  const finalDataDir = path.resolve(merged.dataDir ?? dataDir);
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  const metadataUrl = merged.metadataUrl;
  if (metadataUrl && !/^postgres(ql)?:\/\//.test(metadataUrl)) {
    throw new ConfigError(`metadataUrl must be a postgres:// URL, got '${metadataUrl}'`);
  }
  const s3 = s3Settings(merged);
  return {
    dataDir: finalDataDir,
    lakeDir: path.resolve(merged.lakeDir ?? path.join(finalDataDir, 'lake')),
    host,
    port,
    inferPort,
    controlPlaneUrl: merged.controlPlaneUrl ?? `http://${urlHost}:${port}`,
    inferenceUrl: `http://${urlHost}:${inferPort}`,
    metadata: metadataUrl
      ? { kind: 'postgres', url: metadataUrl }
      : { kind: 'pglite', dataDir: path.join(finalDataDir, 'metadata') },
    onlineStore: onlineStoreOf(merged, finalDataDir),
    objectStore: objectStoreOf(merged.objectStore, finalDataDir),
    s3,
    cacheDir: path.join(finalDataDir, 'cache'),
    token: merged.token,
    logLevel: merged.logLevel ?? 'info',
  };
}

/** `s3://bucket/prefix` selects S3; anything else is a local root (a path or file:// URL). */
function objectStoreOf(value: string | undefined, dataDir: string): PlinthConfig['objectStore'] {
  if (value === undefined || value === '') return { kind: 'local', root: path.join(dataDir, 'objects') };
  if (value.startsWith('s3://')) {
    try {
      const { bucket, prefix } = parseS3Uri(value);
      return { kind: 's3', location: `s3://${bucket}${prefix ? `/${prefix}` : ''}` };
    } catch (e) {
      throw new ConfigError(`objectStore: ${(e as Error).message}`);
    }
  }
  if (value.startsWith('file://')) return { kind: 'local', root: path.resolve(fileURLToPath(value)) };
  // Any other scheme is a mistake, not a directory named "gs:".
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new ConfigError(`objectStore must be an s3:// URL or a local directory, got '${value}'`);
  return { kind: 'local', root: path.resolve(value) };
}

/**
 * `lmdb` (default: `<dataDir>/online`) or `lmdb:///path`; `redis://[user@]host:port[/db]`
 * (`rediss://` for TLS); `redis-cluster://host:port,host:port` (`rediss-cluster://` for TLS).
 * The password comes from `redisPassword` (PLINTH_REDIS_PASSWORD) so that it stays out of URLs
 * that get logged; TLS files from `redisTlsCa`, `redisTlsCert`, `redisTlsKey`.
 */
function onlineStoreOf(merged: ConfigOverrides, dataDir: string): OnlineStoreConfig {
  const value = merged.onlineStore ?? 'lmdb';
  if (value === 'lmdb' || value === '') return { kind: 'lmdb', path: path.join(dataDir, 'online') };
  if (value.startsWith('lmdb://')) return { kind: 'lmdb', path: path.resolve(value.slice('lmdb://'.length)) };
  const m = /^(rediss?)(-cluster)?:\/\/(.+)$/.exec(value);
  if (!m)
    throw new ConfigError(
      `onlineStore must be lmdb, lmdb:///path, redis://host:port, rediss://host:port or redis-cluster://host:port,host:port; got '${value}'`,
    );
  const tlsWanted = m[1] === 'rediss';
  const files = { caFile: merged.redisTlsCa, certFile: merged.redisTlsCert, keyFile: merged.redisTlsKey };
  for (const [k, f] of Object.entries(files))
    if (f && !fs.existsSync(f)) throw new ConfigError(`Redis TLS ${k}: file ${f} does not exist`);
  const tls = tlsWanted ? Object.fromEntries(Object.entries(files).filter(([, f]) => f)) : undefined;
  const auth = {
    ...(merged.redisUsername ? { username: merged.redisUsername } : {}),
    ...(merged.redisPassword ? { password: merged.redisPassword } : {}),
    ...(tls ? { tls } : {}),
  };
  if (!m[2]) {
    try {
      new URL(value);
    } catch {
      throw new ConfigError(`onlineStore: '${value}' is not a valid Redis URL`);
    }
    return { kind: 'redis', url: value, ...auth };
  }
  const nodes = m[3].split(',').map((hp) => {
    const n = /^([^:/]+):(\d+)$/.exec(hp.trim());
    if (!n) throw new ConfigError(`onlineStore: cluster node '${hp}' must be host:port`);
    return { host: n[1], port: parsePort(n[2], `onlineStore node ${hp}`) };
  });
  return { kind: 'redis', cluster: nodes, ...auth };
}

function s3Settings(merged: ConfigOverrides): PlinthConfig['s3'] {
  const endpoint = merged.s3Endpoint || undefined;
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new ConfigError(`s3Endpoint must be an http:// or https:// URL, got '${endpoint}'`);
  }
  const region = merged.s3Region || 'us-east-1';
  if (!/^[a-z0-9][a-z0-9-]*$/.test(region))
    throw new ConfigError(`s3Region must be a region name such as us-east-1, got '${region}'`);
  // S3-compatible servers (MinIO, Ceph...) behind an endpoint rarely have per-bucket DNS names.
  return { endpoint, region, forcePathStyle: endpoint !== undefined };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
