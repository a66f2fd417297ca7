// Request and response shapes of projects: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { errors, Instant, NameText, Page, PagingQuery } from '../../lib/http.js';

export const CreateProject = Type.Object({
  name: NameText(200),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
});
export const PatchProject = Type.Partial(CreateProject);

export const Project = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  owner_id: Type.Integer(),
  created_at: Instant,
});
/** A project card: who owns it by display name (never the owner's email). */
export const ProjectCard = Type.Object({ ...Project.properties, owner_name: Type.String() });
export const ProjectList = Page(ProjectCard);

/** Public projects that offer at least one API key template, searched by name. */
export const OfferingQuery = Type.Object({
  ...PagingQuery.properties,
  q: Type.Optional(Type.String({ maxLength: 200, description: 'part of the project name, any letter case' })),
});
export const OfferingProject = Type.Object({
  ...ProjectCard.properties,
  templates: Type.Integer({ description: 'API key templates the project offers' }),
});
export const OfferingList = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  page_size: Type.Integer(),
  items: Type.Array(OfferingProject),
});

/** The project with what the caller may do in it (the UI shows and hides by these). */
export const ProjectView = Type.Object({
  ...Project.properties,
  permissions: Type.Object({
    project: Type.Array(Type.String()),
    nodes: Type.Record(Type.String(), Type.Array(Type.String()), { description: 'node id -> node permissions' }),
  }),
  is_owner: Type.Boolean(),
  currency: Type.String(),
});

/** Routes of a signed-in person outside any one project. */
export const USER_ERRORS = errors(400, 401, 403, 429, 503);
