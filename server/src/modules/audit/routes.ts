// GET /projects/:p/audit: the project's audit log, newest first (project_manage).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize } from '../../auth/plugin.js';
import { PagingQuery, PROJECT_ERRORS, ProjectParams, paging } from '../../lib/http.js';
import * as S from './schemas.js';
import { listAudit } from './service.js';

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/projects/:p/audit',
    {
      schema: {
        tags: ['audit'],
        params: ProjectParams,
        querystring: PagingQuery,
        response: { 200: S.AuditPage, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const access = await authorize(req, req.params.p, 'project_manage');
      const { limit, offset } = paging(req.query);
      return listAudit(app.ctx, access, limit, offset);
    },
  );
};
