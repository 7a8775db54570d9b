import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';

/** JSON logs (pino) to stdout, or to a file when the console is for people (`plinth up`). */
export function createLogger(level: string, name: string, file?: string): Logger {
  const opts = { level, name, redact: ['req.headers.authorization', 'token'] };
  if (!file) return pino(opts);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return pino(opts, pino.destination({ dest: file, sync: false, mkdir: true }));
}

/** Logs the online store's connection events (Redis reconnects) instead of dropping them. */
export const onlineStoreLogger =
  (log: Logger) =>
  (event: string, detail: string): void =>
    event === 'ready'
      ? log.info({ store: detail }, 'online store connected')
      : log.warn({ detail }, `online store ${event}`);
