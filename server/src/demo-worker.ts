// The demo's compute node: a worker (the TypeScript client's worker loop, over real HTTP) that
// reads packages posted to the demo project's input node, in every data layer, and posts the sum
// of their numeric fields to the output node with a small result file.
import { KeyportClient, runWorker } from '@keyport/client';
import type { FastifyInstance } from 'fastify';
import { createSession } from './modules/accounts/service.js';

export const DEMO_PROJECT = 'Demo calculator';
export const DEMO_OWNER = 'owner@demo.keyport';

export async function startDemoWorker(app: FastifyInstance, port: number): Promise<(() => Promise<void>) | null> {
  const { ctx } = app;
  const project = await ctx.k
    .selectFrom('projects')
    .innerJoin('users', 'users.id', 'projects.owner_id')
    .select(['projects.id', 'projects.owner_id'])
    .where('projects.name', '=', DEMO_PROJECT)
    .where('users.email', '=', DEMO_OWNER)
    .executeTakeFirst();
  if (!project) return null;
  const nodes = await ctx.k.selectFrom('nodes').select(['id', 'kind']).where('project_id', '=', project.id).execute();
  const input = nodes.find((n) => n.kind === 'input');
  const output = nodes.find((n) => n.kind === 'output');
  if (!input || !output) return null;
  // The worker acts as the project owner (a manager sees every key holder's personal layer).
  const session = await createSession(ctx, project.owner_id);
  const client = new KeyportClient({
    server: `http://127.0.0.1:${port}`,
    cookie: session.token,
    csrfToken: session.csrf_token,
    // polling once a second: logged only when something goes wrong, not per request
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), 'x-keyport-quiet': app.quietLogToken },
      }),
    project: project.id,
    input: input.id,
    output: output.id,
  });
  const abort = new AbortController();
  const done = runWorker({
    client,
    pollMs: 1000,
    signal: abort.signal,
    onError: (err) => app.log.warn({ err }, 'demo worker: package failed'),
    handler: (pkg) => {
      const numbers = Object.values(pkg.values)
        .map(Number)
        .filter((v) => Number.isFinite(v));
      const sum = numbers.reduce((a, b) => a + b, 0);
      return {
        label: `sum of ${pkg.label || `package ${pkg.id}`}`,
        fields: { sum, count: numbers.length },
        files: [{ name: 'result.txt', content: `${numbers.join(' + ') || '0'} = ${sum}\n`, type: 'text/plain' }],
      };
    },
  }).catch((err) => app.log.error({ err }, 'demo worker stopped'));
  app.log.info({ projectId: project.id }, 'demo worker started');
  return async () => {
    abort.abort();
    await done;
  };
}
