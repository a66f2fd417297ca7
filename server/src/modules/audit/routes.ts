// GET /projects/:p/audit: the project's audit log, newest first, filtered (project_manage);
// GET /projects/:p/audit.csv: the same entries, all of them, as CSV.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize } from '../../auth/plugin.js';
import { PROJECT_ERRORS, ProjectParams, paging } from '../../lib/http.js';
import { CsvFile, localDate, sendCsv } from '../usage/csv.js';
import * as S from './schemas.js';
import { AUDIT_COLUMNS, auditFilter, auditRows, listAudit } from './service.js';

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['audit'];

  app.get(
    '/projects/:p/audit',
    {
      schema: {
        tags,
        params: ProjectParams,
        querystring: S.AuditQuery,
        response: { 200: S.AuditPage, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const access = await authorize(req, req.params.p, 'project_manage');
      const { limit, offset } = paging(req.query);
      return listAudit(app.ctx, access, auditFilter(req.query), limit, offset);
    },
  );

  app.get(
    '/projects/:p/audit.csv',
    {
      schema: {
        tags,
        summary: 'The audit log with the same filters, every matching entry, as CSV',
        params: ProjectParams,
        querystring: S.AuditCsvQuery,
        response: { 200: CsvFile, ...PROJECT_ERRORS },
      },
    },
    async (req, reply) => {
      const { p } = req.params;
      const access = await authorize(req, p, 'project_manage');
      const filter = auditFilter(req.query);
      const name = `project-${p}-audit-${localDate(app.ctx.clock.now(), null)}.csv`;
      return sendCsv(reply, name, AUDIT_COLUMNS, auditRows(app.ctx, access, filter));
    },
  );
};
