// GET /projects/:p/data_layers, /data_layers/last, /data_layers/:l — what the caller may see.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { authorize } from '../../auth/plugin.js';
import { IdParam, ProjectParams } from '../../lib/http.js';
import * as layers from './service.js';

const LayerParams = Type.Object({ p: IdParam, l: IdParam });

export const layerRoutes: FastifyPluginAsync = async (app) => {
  const { ctx } = app;
  const tags = ['data plane'];
  const security: Record<string, string[]>[] = [{ apiKey: [] }, { session: [] }];

  app.get(
    '/projects/:p/data_layers',
    { schema: { tags, security, summary: 'Data layers the caller can see', params: ProjectParams } },
    async (req) => {
      const access = await authorize(req, (req.params as ProjectParams).p);
      return layers.listLayers(ctx, access);
    },
  );

  app.get(
    '/projects/:p/data_layers/last',
    {
      schema: {
        tags,
        security,
        summary: "The caller's working layer (a key holder: their personal layer)",
        params: ProjectParams,
      },
    },
    async (req) => {
      const access = await authorize(req, (req.params as ProjectParams).p);
      return layers.toLayer(await layers.lastLayerRow(ctx, access));
    },
  );

  app.get('/projects/:p/data_layers/:l', { schema: { tags, security, params: LayerParams } }, async (req) => {
    const { p, l } = req.params as { p: number; l: number };
    const access = await authorize(req, p);
    return layers.toLayer(await layers.requireVisibleLayer(ctx, access, l));
  });
};
