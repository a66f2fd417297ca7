// Request and response shapes of the project graph (nodes and links): validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, NameText } from '../../lib/http.js';

export const NodeKind = Type.Union([Type.Literal('input'), Type.Literal('compute'), Type.Literal('output')]);
export const CreateNode = Type.Object({ name: NameText(200), kind: NodeKind });
export const PatchNode = Type.Partial(CreateNode);
export const NodeParams = Type.Object({ p: IdParam, n: IdParam });
export const NodeSearch = Type.Object({ search: Type.Optional(Type.String({ maxLength: 200 })) });
export const LinkParams = Type.Object({ p: IdParam, l: IdParam });
export const CreateLink = Type.Object({ from_node_id: IdParam, to_node_id: IdParam });

export const Node = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  name: Type.String(),
  kind: NodeKind,
  created_at: Instant,
});
export const NodeList = Type.Array(Node);
export const Link = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  from_node_id: Type.Integer(),
  to_node_id: Type.Integer(),
});
export const LinkList = Type.Array(Link);
