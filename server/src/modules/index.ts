// Every API module, registered under /api. One line per module.
import type { FastifyInstance } from 'fastify';
import { accountRoutes } from './accounts/routes.js';
import { auditRoutes } from './audit/routes.js';
import { memberRoutes } from './members/routes.js';
import { nodeRoutes } from './nodes/routes.js';
import { projectRoutes } from './projects/routes.js';
import { roleRoutes } from './roles/routes.js';

export async function registerModules(api: FastifyInstance): Promise<void> {
  await api.register(accountRoutes);
  await api.register(projectRoutes);
  await api.register(nodeRoutes);
  await api.register(roleRoutes);
  await api.register(memberRoutes);
  await api.register(auditRoutes);
}
