// Issued keys and usage statistics and their CSV exports: api_keys_manage (project_manage implies it).
// Revocation (DELETE) lives in modules/keys.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize } from '../../auth/plugin.js';
import { PROJECT_ERRORS, ProjectParams } from '../../lib/http.js';
import { CsvFile, exportName, exportPeriod, sendCsv, USAGE_EXPORTS } from './csv.js';
import { parsePeriod } from './period.js';
import * as S from './schemas.js';
import { keyBreakdown, keySeries, listIssuedKeys, projectSeries, type SortField } from './stats.js';

export const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['issued keys'];

  app.get(
    '/projects/:p/issued-keys',
    {
      schema: {
        tags,
        summary: 'Issued keys with requests and cost in a period [from, to)',
        params: ProjectParams,
        querystring: S.ListQuery,
        response: { 200: S.IssuedKeyList, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p, 'api_keys_manage');
      const q = req.query;
      const period = parsePeriod(q, ctx.clock.now());
      // the pattern admits exactly the SortField names, with an optional "-"
      const field = q.sort.replace(/^-/, '') as SortField;
      const desc = q.order ? q.order === 'desc' : q.sort.startsWith('-');
      return listIssuedKeys(ctx, p, {
        period,
        page: q.page,
        page_size: q.page_size,
        sort: field,
        desc,
        status: q.status,
        template_id: q.template_id,
        user_id: q.user_id,
      });
    },
  );

  app.get(
    '/projects/:p/issued-keys/:k/usage',
    {
      schema: {
        tags,
        summary: 'Requests and cost of one key per hour or day',
        params: S.KeyParams,
        querystring: S.SeriesQuery,
        response: { 200: S.KeySeries, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p, k } = req.params;
      await authorize(req, p, 'api_keys_manage');
      const q = req.query;
      return keySeries(ctx, p, k, parsePeriod(q, ctx.clock.now()), q.granularity);
    },
  );

  app.get(
    '/projects/:p/issued-keys/:k/breakdown',
    {
      schema: {
        tags,
        summary: 'Requests of one key by outcome and by operation in a period (whole UTC days)',
        params: S.KeyParams,
        querystring: S.BreakdownQuery,
        response: { 200: S.KeyBreakdown, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p, k } = req.params;
      await authorize(req, p, 'api_keys_manage');
      return keyBreakdown(ctx, p, k, parsePeriod(req.query, ctx.clock.now()));
    },
  );

  app.get(
    '/projects/:p/usage',
    {
      schema: {
        tags,
        summary: 'Requests and cost of all keys of the project per hour or day',
        params: ProjectParams,
        querystring: S.SeriesQuery,
        response: { 200: S.ProjectSeries, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const { p } = req.params;
      await authorize(req, p, 'api_keys_manage');
      const q = req.query;
      return projectSeries(ctx, p, parsePeriod(q, ctx.clock.now()), q.granularity);
    },
  );

  // CSV exports: every key, no paging; the same figures as the JSON routes above
  for (const e of USAGE_EXPORTS) {
    app.get(
      e.path,
      {
        schema: {
          tags,
          summary: e.summary,
          params: ProjectParams,
          querystring: S.ExportQuery,
          response: { 200: CsvFile, ...PROJECT_ERRORS },
        },
      },
      async (req, reply) => {
        const { p } = req.params;
        await authorize(req, p, 'api_keys_manage');
        const period = exportPeriod(req.query, ctx.clock.now());
        return sendCsv(reply, exportName(p, e.name, period), e.columns, e.rows(ctx, p, period));
      },
    );
  }
};
