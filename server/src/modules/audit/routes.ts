import type { FastifyPluginAsync } from 'fastify';
import { authorize } from '../../auth/plugin.js';
import { PagingQuery, ProjectParams, paging } from '../../lib/http.js';
import { listAudit } from './service.js';

export const auditRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/projects/:p/audit',
    { schema: { tags: ['audit'], params: ProjectParams, querystring: PagingQuery } },
    async (req) => {
      const { p } = req.params as ProjectParams;
      const access = await authorize(req, p, 'project_manage');
      const { limit, offset } = paging(req.query as PagingQuery);
      return listAudit(app.ctx, access, limit, offset);
    },
  );
};
