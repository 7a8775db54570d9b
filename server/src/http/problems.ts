import type { FastifyInstance, FastifyReply } from 'fastify';
import { PROBLEM_CONTENT_TYPE, ProblemError, problem, type ProblemDetails } from '@plinth/schema';
import { OnlineStoreUnavailableError } from '@plinth/kernel-lib';

export function sendProblem(reply: FastifyReply, p: ProblemDetails): FastifyReply {
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

/** Every error leaves as RFC 9457 problem+json; 5xx details stay in the log, not the response. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof ProblemError) {
      if (err.status >= 500) req.log.error({ err }, 'request failed');
      return sendProblem(reply, { ...err.problem, instance: req.url });
    }
    if (err instanceof OnlineStoreUnavailableError) {
      // Redis down or restarting: the client may retry; the message names the store, never secrets.
      req.log.warn({ err: err.message }, 'online store unavailable');
      return sendProblem(reply.header('retry-after', '1'), {
        ...problem(503, 'Online store unavailable', err.message),
        instance: req.url,
      });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'request failed');
      return sendProblem(reply, {
        ...problem(500, 'Internal error', `request ${req.id} failed; see the server log`),
        instance: req.url,
      });
    }
    const title =
      err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'Unsupported media type'
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'Request too large'
          : err instanceof SyntaxError || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'Malformed JSON'
            : 'Bad request';
    return sendProblem(reply, {
      ...problem(status, title, err.message, [{ pointer: '', detail: err.message }]),
      instance: req.url,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, {
      ...problem(404, 'Not found', `no route ${req.method} ${req.url.split('?')[0]}`),
      instance: req.url,
    }),
  );
}

/** Checks `Authorization: Bearer <token>` when the server has a token. */
export function installTokenAuth(app: FastifyInstance, token: string | undefined, open: string[]): void {
  if (!token) return;
  app.addHook('onRequest', async (req, reply) => {
    if (open.includes(req.url.split('?')[0])) return;
    const h = req.headers.authorization ?? '';
    if (h !== `Bearer ${token}`) {
      return sendProblem(reply, problem(401, 'Unauthorized', 'send Authorization: Bearer <token> (see PLINTH_TOKEN)'));
    }
  });
}
