import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';
import { tempDir } from './test-support/platform';

describe('object store and S3 settings', () => {
  const dataDir = '/data/plinth';

  it('defaults to a local directory in the data directory, S3 in us-east-1', () => {
    const c = loadConfig({ dataDir }, {});
    expect(c.objectStore).toEqual({ kind: 'local', root: path.join(dataDir, 'objects') });
    expect(c.s3).toEqual({ endpoint: undefined, region: 'us-east-1', forcePathStyle: false });
    expect(c.cacheDir).toBe(path.join(dataDir, 'cache'));
  });

  it('s3:// selects S3; anything else is a local root', () => {
    expect(loadConfig({ dataDir, objectStore: 's3://ml-data/plinth/' }, {}).objectStore).toEqual({
      kind: 's3',
      location: 's3://ml-data/plinth',
    });
    expect(loadConfig({ dataDir, objectStore: 's3://ml-data' }, {}).objectStore).toEqual({
      kind: 's3',
      location: 's3://ml-data',
    });
    expect(loadConfig({ dataDir, objectStore: '/mnt/objects' }, {}).objectStore).toEqual({
      kind: 'local',
      root: '/mnt/objects',
    });
    expect(loadConfig({ dataDir, objectStore: 'file:///mnt/objects' }, {}).objectStore).toEqual({
      kind: 'local',
      root: '/mnt/objects',
    });
  });

  it('takes the environment, and flags over it; an endpoint forces path-style addressing', () => {
    const env = {
      PLINTH_OBJECT_STORE: 's3://from-env/x',
      PLINTH_S3_ENDPOINT: 'http://minio:9000',
      PLINTH_S3_REGION: 'eu-west-1',
    };
    const c = loadConfig({ dataDir }, env);
    expect(c.objectStore).toEqual({ kind: 's3', location: 's3://from-env/x' });
    expect(c.s3).toEqual({ endpoint: 'http://minio:9000', region: 'eu-west-1', forcePathStyle: true });
    expect(loadConfig({ dataDir, objectStore: 's3://from-flag' }, env).objectStore).toEqual({
      kind: 's3',
      location: 's3://from-flag',
    });
  });

  it('reads objectStore, s3Endpoint and s3Region from the config file', () => {
    const dir = tempDir('cfg');
    fs.writeFileSync(
      path.join(dir, 'plinth.yaml'),
      'objectStore: s3://team-bucket/plinth\ns3Endpoint: https://s3.internal\ns3Region: ap-south-1\n',
    );
    const c = loadConfig({ dataDir: dir }, {});
    expect(c.objectStore).toEqual({ kind: 's3', location: 's3://team-bucket/plinth' });
    expect(c.s3).toEqual({ endpoint: 'https://s3.internal', region: 'ap-south-1', forcePathStyle: true });
  });

  it.each([
    [{ objectStore: 's3://' }, /^objectStore: 's3:\/\/' has no bucket/],
    [{ objectStore: 's3:///prefix' }, /^objectStore: .*no bucket/],
    [{ objectStore: 's3://Upper_Case' }, /^objectStore: .*'Upper_Case' is not a valid bucket name/],
    [{ objectStore: 's3://bucket/a/../b' }, /^objectStore: .*"\.\." segments/],
    [{ objectStore: 'gs://bucket/x' }, /^objectStore must be an s3:\/\/ URL or a local directory/],
    [{ s3Endpoint: 'minio:9000' }, /^s3Endpoint must be an http:\/\/ or https:\/\/ URL, got 'minio:9000'/],
    [{ s3Endpoint: 'ftp://x' }, /^s3Endpoint must be/],
    [{ s3Region: 'EU West' }, /^s3Region must be a region name/],
  ])('rejects %j naming the setting', (flags, message) => {
    expect(() => loadConfig({ dataDir, ...flags }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ dataDir, ...flags }, {})).toThrow(message);
  });
});

describe('online store settings', () => {
  const dataDir = '/tmp/plinth-config-online';

  it('defaults to LMDB in the data directory; lmdb:/// names another directory', () => {
    expect(loadConfig({ dataDir }, {}).onlineStore).toEqual({ kind: 'lmdb', path: path.join(dataDir, 'online') });
    expect(loadConfig({ dataDir }, { PLINTH_ONLINE_STORE: 'lmdb:///srv/online' }).onlineStore).toEqual({
      kind: 'lmdb',
      path: '/srv/online',
    });
  });

  it('selects Redis, Redis over TLS and a Redis Cluster; the password comes from its own setting', () => {
    expect(
      loadConfig({ dataDir }, { PLINTH_ONLINE_STORE: 'redis://10.0.0.5:6379/2', PLINTH_REDIS_PASSWORD: 'pw' })
        .onlineStore,
    ).toEqual({ kind: 'redis', url: 'redis://10.0.0.5:6379/2', password: 'pw' });
    expect(loadConfig({ dataDir, onlineStore: 'rediss://cache.internal:6380' }, {}).onlineStore).toEqual({
      kind: 'redis',
      url: 'rediss://cache.internal:6380',
      tls: {},
    });
    expect(loadConfig({ dataDir, onlineStore: 'redis-cluster://a:7000, b:7001' }, {}).onlineStore).toEqual({
      kind: 'redis',
      cluster: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
  });

  it('names what is wrong', () => {
    expect(() => loadConfig({ dataDir, onlineStore: 'memcached://x:1' }, {})).toThrow(/onlineStore must be lmdb/);
    expect(() => loadConfig({ dataDir, onlineStore: 'redis-cluster://a:7000,b' }, {})).toThrow(
      /cluster node 'b' must be host:port/,
    );
    expect(() =>
      loadConfig({ dataDir, onlineStore: 'rediss://a:1' }, { PLINTH_REDIS_TLS_CA: '/nonexistent/ca.pem' }),
    ).toThrow(/caFile: file \/nonexistent\/ca.pem does not exist/);
  });
});
