// Issued keys and usage statistics (F7): project_manage only. Revocation (DELETE) lives in modules/keys.
import type { FastifyPluginAsync } from 'fastify';
import { type Static, Type } from 'typebox';
import { authorize } from '../../auth/plugin.js';
import { IdParam, ProjectParams } from '../../lib/http.js';
import { parsePeriod } from './period.js';
import { keySeries, listIssuedKeys, projectSeries, type SortField } from './stats.js';

const PeriodQuery = {
  from: Type.Optional(
    Type.String({
      maxLength: 40,
      description: 'ISO date or datetime, inclusive (default: start of the current month)',
    }),
  ),
  to: Type.Optional(
    Type.String({ maxLength: 40, description: 'ISO date or datetime, exclusive (default: start of the next month)' }),
  ),
  tz: Type.Optional(
    Type.String({
      maxLength: 64,
      description: 'IANA time zone for dates without an offset and for days (default UTC)',
    }),
  ),
};

const ListQuery = Type.Object({
  ...PeriodQuery,
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  page_size: Type.Integer({ minimum: 1, default: 25 }),
  sort: Type.String({
    pattern: '^-?(received_at|requests|total_cost|template_name|user)$',
    default: '-received_at',
    description: 'received_at | requests | total_cost | template_name | user; prefix "-" for descending',
  }),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('all')])),
  template_id: Type.Optional(IdParam),
  user_id: Type.Optional(IdParam),
});
type ListQuery = Static<typeof ListQuery>;

const SeriesQuery = Type.Object({
  ...PeriodQuery,
  granularity: Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' }),
});
type SeriesQuery = Static<typeof SeriesQuery>;

const KeyParams = Type.Object({ p: IdParam, k: IdParam });

export const usageRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['issued keys'];

  app.get(
    '/projects/:p/issued-keys',
    {
      schema: {
        tags,
        summary: 'Issued keys with requests and cost in a period [from, to)',
        params: ProjectParams,
        querystring: ListQuery,
      },
    },
    async (req) => {
      const { p } = req.params as ProjectParams;
      await authorize(req, p, 'project_manage');
      const q = req.query as ListQuery;
      const period = parsePeriod(q, ctx.clock.now());
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
        params: KeyParams,
        querystring: SeriesQuery,
      },
    },
    async (req) => {
      const { p, k } = req.params as Static<typeof KeyParams>;
      await authorize(req, p, 'project_manage');
      const q = req.query as SeriesQuery;
      return keySeries(ctx, p, k, parsePeriod(q, ctx.clock.now()), q.granularity);
    },
  );

  app.get(
    '/projects/:p/usage',
    {
      schema: {
        tags,
        summary: 'Requests and cost of all keys of the project per hour or day',
        params: ProjectParams,
        querystring: SeriesQuery,
      },
    },
    async (req) => {
      const { p } = req.params as ProjectParams;
      await authorize(req, p, 'project_manage');
      const q = req.query as SeriesQuery;
      return projectSeries(ctx, p, parsePeriod(q, ctx.clock.now()), q.granularity);
    },
  );
};
