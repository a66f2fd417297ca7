// GET /projects/:p/data_layers, /data_layers/last, /data_layers/:l — what the caller may see.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authorize } from '../../auth/plugin.js';
import { PROJECT_ERRORS, ProjectParams } from '../../lib/http.js';
import * as S from './schemas.js';
import * as layers from './service.js';

export const layerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app;
  const tags = ['data plane'];
  const security: Record<string, string[]>[] = [{ apiKey: [] }, { session: [] }];

  app.get(
    '/projects/:p/data_layers',
    {
      schema: {
        tags,
        security,
        summary: 'Data layers the caller can see',
        params: ProjectParams,
        response: { 200: S.LayerList, ...PROJECT_ERRORS },
      },
    },
    async (req) => layers.listLayers(ctx, await authorize(req, req.params.p)),
  );

  app.get(
    '/projects/:p/data_layers/last',
    {
      schema: {
        tags,
        security,
        summary: "The caller's working layer (a key holder: their personal layer)",
        params: ProjectParams,
        response: { 200: S.Layer, ...PROJECT_ERRORS },
      },
    },
    async (req) => {
      const access = await authorize(req, req.params.p);
      return layers.toLayer(await layers.lastLayerRow(ctx, access));
    },
  );

  app.get(
    '/projects/:p/data_layers/:l',
    { schema: { tags, security, params: S.LayerParams, response: { 200: S.Layer, ...PROJECT_ERRORS } } },
    async (req) => {
      const { p, l } = req.params;
      const access = await authorize(req, p);
      return layers.toLayer(await layers.requireVisibleLayer(ctx, access, l));
    },
  );
};
