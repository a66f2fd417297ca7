// Every API module, registered under /api. One line per module.
import type { FastifyInstance } from 'fastify';
import { accountRoutes } from './accounts/routes.js';
import { auditRoutes } from './audit/routes.js';
import { keyRoutes } from './keys/routes.js';
import { layerRoutes } from './layers/routes.js';
import { memberRoutes } from './members/routes.js';
import { nodeRoutes } from './nodes/routes.js';
import { notificationRoutes } from './notifications/routes.js';
import { objectRoutes } from './objects/routes.js';
import { packageRoutes } from './packages/routes.js';
import { projectRoutes } from './projects/routes.js';
import { requestRoutes } from './requests/routes.js';
import { roleRoutes } from './roles/routes.js';
import { secretRoutes } from './secrets/routes.js';
import { templateRoutes } from './templates/routes.js';
import { usageRoutes } from './usage/routes.js';
import { webhookRoutes } from './webhooks/routes.js';

export async function registerModules(api: FastifyInstance): Promise<void> {
  await api.register(accountRoutes);
  await api.register(projectRoutes);
  await api.register(nodeRoutes);
  await api.register(roleRoutes);
  await api.register(memberRoutes);
  await api.register(auditRoutes);
  await api.register(templateRoutes);
  await api.register(requestRoutes);
  await api.register(keyRoutes);
  await api.register(notificationRoutes);
  await api.register(secretRoutes);
  await api.register(layerRoutes);
  await api.register(packageRoutes);
  await api.register(objectRoutes);
  await api.register(usageRoutes);
  await api.register(webhookRoutes);
}
