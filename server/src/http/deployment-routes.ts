import type { FastifyInstance } from 'fastify';
import type { Deployment } from '@plinth/schema';
import type { Platform } from '../platform';
import { deploy, deploymentHistory, promoteCanary, rollback } from '../deploy/deployments';
import { DeploymentWatch } from '../deploy/watch';

/** Deployments: deploy (replace, canary, shadow), rollback, promote, history, and the tier's watch. */
export function registerDeploymentRoutes(app: FastifyInstance, p: Platform, actor: string): void {
  const watch = new DeploymentWatch(p.meta);
  // A waiting long poll must not hold the server open while it shuts down.
  app.addHook('preClose', (done) => {
    watch.close();
    done();
  });
  // Polled constantly by the inference tier: not worth a log line each.
  app.get<{ Querystring: { watch?: string; waitSeconds?: string } }>(
    '/api/v1/deployments',
    { logLevel: 'warn' },
    async (req, reply) => {
      if (req.query.watch === undefined) return { items: (await watch.snapshot()).items };
      const wait = Math.min(Math.max(Number(req.query.waitSeconds ?? 20) || 0, 0), 30);
      const answer = await watch.wait(req.query.watch, wait * 1000);
      // Released by shutdown: a kept-alive socket would hold the server's close for its keep-alive time.
      if (watch.closing) void reply.header('connection', 'close');
      return answer;
    },
  );
  app.get<{ Params: { name: string } }>(
    '/api/v1/deployments/:name',
    async (req) => (await p.registry.get<Deployment>('deployment', req.params.name)).spec,
  );
  app.put<{ Params: { name: string } }>('/api/v1/deployments/:name', async (req) =>
    deploy(p, watch, req.params.name, req.body, actor),
  );
  app.get<{ Params: { name: string } }>('/api/v1/deployments/:name/history', async (req) => ({
    items: await deploymentHistory(p, req.params.name),
  }));
  app.post<{ Params: { name: string } }>('/api/v1/deployments/:name/rollback', async (req) =>
    rollback(p, watch, req.params.name, req.body, actor),
  );
  app.post<{ Params: { name: string } }>('/api/v1/deployments/:name/promote', async (req) =>
    promoteCanary(p, watch, req.params.name, req.body, actor),
  );
}
