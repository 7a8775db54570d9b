/**
 * A throwaway Kafka broker (Apache Kafka 3.9, KRaft: broker and controller in one JVM) on
 * 127.0.0.1 at free ports, from the jars scripts/kafka/install.sh put in .cache/kafka/libs
 * (scripts/test-all.sh runs it). Nothing is mocked (DESIGN.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './net';

const libs = path.resolve(__dirname, '..', '..', '..', '.cache', 'kafka', 'libs');
const START_TIMEOUT_MS = 90_000;

export interface RunningKafka {
  /** Bootstrap brokers, `127.0.0.1:<port>`. */
  brokers: string[];
  /** Stops the broker (SIGTERM, then SIGKILL after 10 s) and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

/** True when java runs and the broker's jars are installed. */
export function kafkaAvailable(): boolean {
  return fs.existsSync(libs) && spawnSync('java', ['-version']).status === 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startKafka(): Promise<RunningKafka> {
  if (!kafkaAvailable()) throw new Error(`no Kafka broker: run scripts/kafka/install.sh (jars expected in ${libs})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'server.properties');
  fs.writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`,
      'num.partitions=1',
      // One node: nothing to replicate to, and no wait for more group members.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
    ].join('\n'),
  );
  const jvm = ['-Xmx512m', '-Xms128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`];
  const quiet = '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn';
  const clusterId = randomBytes(16).toString('base64url');
  const format = spawnSync('java', [...jvm, quiet, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config]);
  if (format.status !== 0)
    throw new Error(`formatting Kafka's storage failed: ${format.stderr.toString().slice(-2000)}`);

  const logFile = path.join(dir, 'broker.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn('java', [...jvm, quiet, 'kafka.Kafka', config], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(killer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const brokers = [`127.0.0.1:${port}`];
  const admin = new Kafka({
    clientId: 'plinth-test-setup',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      return { brokers, stop };
    } catch (e) {
      await admin.disconnect().catch(() => undefined);
      if (exited || Date.now() > deadline) {
        const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-3000) : '';
        await stop();
        throw new Error(
          `the Kafka broker did not ${exited ? 'stay up' : `answer within ${START_TIMEOUT_MS / 1000} s`} (${(e as Error).message}); its log ends:\n${tail}`,
        );
      }
      await sleep(250);
    }
  }
}
