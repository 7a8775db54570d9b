/**
 * A throwaway S3-compatible server for integration tests: moto's server (PyPI `moto[server]`,
 * in scripts/requirements-test.txt) on 127.0.0.1:<free port>, with one empty bucket. Nothing
 * is mocked (DESIGN.md): it speaks the S3 REST protocol to the real AWS SDK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../stores/object/s3-store';
import { freePort } from './net';

export interface RunningS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** An empty bucket created for the caller. */
  bucket: string;
  /** A client for this server, for arranging test data. */
  client: S3Client;
  /** Creates another empty bucket. */
  createBucket(name: string): Promise<void>;
  /** Stops the server (its data lives in memory and goes with it). Safe to call twice. */
  stop(): Promise<void>;
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** $PLINTH_PYTHON (set by scripts/test-all.sh), else the repository's .venv. */
export function testPython(): string {
  const python = process.env.PLINTH_PYTHON ?? path.join(repoRoot, '.venv', 'bin', 'python');
  if (!existsSync(python))
    throw new Error(
      `no Python at ${python} for the S3 test server; run scripts/test-all.sh (it creates ${path.join(repoRoot, '.venv')} ` +
        `with scripts/requirements-test.txt) or set PLINTH_PYTHON`,
    );
  return python;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts moto's S3 server and creates `bucket`. Sets dummy AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY in this process (when unset) so that SDK clients built from the
 * standard credential chain, like the platform's, can sign requests.
 */
export async function startS3(bucket = 'plinth-test'): Promise<RunningS3> {
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const python = testPython();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));

  const client = createS3Client({ endpoint, region: 'us-east-1' });
  let stopped = false;
  // Last resort if the test process exits without stop(): no orphan servers.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    client.destroy();
    if (!exited) {
      child.kill('SIGTERM');
      const deadline = Date.now() + 5_000;
      while (!exited && Date.now() < deadline) await sleep(50);
      if (!exited) child.kill('SIGKILL');
    }
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) throw new Error(`moto.server exited during startup (is moto[server] installed?):\n${output}`);
      try {
        if ((await fetch(`${endpoint}/moto-api/`)).status < 500) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`moto.server did not answer on ${endpoint} within 30s:\n${output}`);
      await sleep(100);
    }
    const createBucket = async (name: string) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    };
    await createBucket(bucket);
    return { endpoint, bucket, client, createBucket, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
