// On an empty database: demo accounts (printed), a project with input -> compute -> output nodes,
// an `api-client` role and an API key template whose info fields point at the project and nodes.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { signUp } from './modules/accounts/service.js';
import { createLink, createNode } from './modules/nodes/service.js';
import { createProject } from './modules/projects/service.js';
import { createRole } from './modules/roles/service.js';
import { loadUserAccess } from './auth/access.js';

export interface DemoInfo {
  owner: { email: string; password: string };
  client: { email: string; password: string };
  projectId: number;
  nodes: { input: number; compute: number; output: number };
  roleId: number;
}

/** Hook for later modules (templates, worker) to extend the demo. */
export type DemoExtension = (app: FastifyInstance, info: DemoInfo) => Promise<void>;
export const demoExtensions: DemoExtension[] = [];

export async function seedDemo(app: FastifyInstance): Promise<DemoInfo | null> {
  const { ctx } = app;
  const anyUser = await ctx.k.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (anyUser) return null;
  const password = () => randomBytes(9).toString('base64url');
  const owner = { email: 'owner@demo.keyport', password: password() };
  const client = { email: 'client@demo.keyport', password: password() };
  const ownerUser = await signUp(ctx, { ...owner, name: 'Olga Owner' });
  await signUp(ctx, { ...client, name: 'Carl Client' });

  const actor = { kind: 'user' as const, userId: ownerUser.id, sessionId: 0 };
  const project = await createProject(ctx, actor, {
    name: 'Demo calculator',
    description: 'Send numbers to the input node; the worker posts their sum to the output node.',
  });
  const access = await loadUserAccess(ctx, ownerUser.id, project.id);
  if (!access) throw new Error('demo: owner has no access to the demo project');
  const input = await createNode(ctx, access, { name: 'input', kind: 'input' });
  const compute = await createNode(ctx, access, { name: 'sum', kind: 'compute' });
  const output = await createNode(ctx, access, { name: 'output', kind: 'output' });
  await createLink(ctx, access, input.id, compute.id);
  await createLink(ctx, access, compute.id, output.id);
  const role = await createRole(ctx, access, {
    name: 'api-client',
    description: 'Send packages to the input node and read results from the output node',
    price_per_request: '0.01',
    permissions: {
      project: ['project_view'],
      nodes: { [input.id]: ['package_create'], [output.id]: ['package_view'] },
    },
  });
  const info: DemoInfo = {
    owner,
    client,
    projectId: project.id,
    nodes: { input: input.id, compute: compute.id, output: output.id },
    roleId: role.id,
  };
  for (const extend of demoExtensions) await extend(app, info);
  console.log(
    [
      '',
      'Demo data created:',
      `  owner:  ${owner.email}  password: ${owner.password}`,
      `  client: ${client.email}  password: ${client.password}`,
      `  project "${project.name}" (id ${project.id}) with nodes input=${input.id}, sum=${compute.id}, output=${output.id}`,
      '  (these passwords are shown once; set KEYPORT_DEMO=0 to start without demo data)',
      '',
    ].join('\n'),
  );
  return info;
}
