// On an empty database: demo accounts (printed), a project with input -> compute -> output nodes,
// an `api-client` role and an API key template whose info fields point at the project and nodes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadUserAccess } from './auth/access.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tighten } from './lib/data-dir.js';
import { signUp } from './modules/accounts/service.js';
import { createLink, createNode } from './modules/nodes/service.js';
import { createProject } from './modules/projects/service.js';
import { createRole } from './modules/roles/service.js';
import { addField, createTemplate } from './modules/templates/service.js';

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
  // Every signed-in user may see the project's About page and request its key.
  await createRole(ctx, access, {
    name: 'visitor',
    description: 'Every signed-in user: sees the About page and can request an API key',
    is_public: true,
    permissions: { project: ['project_view'] },
  });
  const template = await createTemplate(ctx, access, {
    name: 'Calculator API',
    role_id: role.id,
    description: 'Post numbers to the input node; fetch their sum from the output node.',
  });
  const fields: [string, string, number][] = [
    ['project', 'Project ID', project.id],
    ['input', 'Input node ID: post data packages here', input.id],
    ['output', 'Output node ID: fetch result packages here', output.id],
  ];
  for (const [name, description, value] of fields) {
    await addField(ctx, access, template.id, { name, description, value: String(value) });
  }
  const info: DemoInfo = {
    owner,
    client,
    projectId: project.id,
    nodes: { input: input.id, compute: compute.id, output: output.id },
    roleId: role.id,
  };
  for (const extend of demoExtensions) await extend(app, info);
  const credentials = [
    `owner:  ${owner.email}  password: ${owner.password}`,
    `client: ${client.email}  password: ${client.password}`,
  ];
  // Kept next to the database (0600) so the printed passwords can be found again.
  const file = path.join(ctx.config.dataDir, 'demo-credentials.txt');
  ensurePrivateDir(ctx.config.dataDir);
  fs.writeFileSync(file, `${credentials.join('\n')}\n`, { mode: PRIVATE_FILE_MODE });
  tighten(file, PRIVATE_FILE_MODE); // the mode above applies to a new file only
  console.log(
    [
      '',
      'Demo data created:',
      ...credentials.map((c) => `  ${c}`),
      `  project "${project.name}" (id ${project.id}) with nodes input=${input.id}, sum=${compute.id}, output=${output.id}`,
      `  (credentials saved in ${file}; set KEYPORT_DEMO=0 to start without demo data)`,
      '',
    ].join('\n'),
  );
  return info;
}
