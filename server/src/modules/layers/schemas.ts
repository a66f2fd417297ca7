// Shapes of data layers: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, Nullable } from '../../lib/http.js';

export const LayerParams = Type.Object({ p: IdParam, l: IdParam });

export const Layer = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('shared'), Type.Literal('personal')]),
  user_id: Nullable(Type.Integer({ description: 'the owner of a personal layer' })),
  created_at: Instant,
});
/** A plain array, not a page: the Python client iterates the answer. */
export const LayerList = Type.Array(Layer);
