// Schemas and helpers shared by route modules.
import { type Static, Type } from 'typebox';

export const IdParam = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const ProjectParams = Type.Object({ p: IdParam });
export type ProjectParams = Static<typeof ProjectParams>;

export const MAX_PAGE_SIZE = 100;

/**
 * page_size above the maximum is capped (not refused): clients asking for "everything" still work.
 * page is bounded: `page=1e300` would otherwise reach the database as an OFFSET it cannot take (500).
 */
export const PagingQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  page_size: Type.Integer({ minimum: 1, default: 25 }),
});
export type PagingQuery = Static<typeof PagingQuery>;

export function paging(q: { page?: number; page_size?: number }): { limit: number; offset: number } {
  const limit = Math.min(MAX_PAGE_SIZE, q.page_size ?? 25);
  const page = q.page ?? 1;
  return { limit, offset: (page - 1) * limit };
}

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }),
});

/**
 * Names people give things (users, projects, nodes, roles, templates): not blank, and no control
 * characters, line separators or bidirectional overrides, which could fake line breaks in a mail
 * or reorder what a reader sees.
 */
export const NAME_TEXT_PATTERN = '^(?=[\\s\\S]*\\S)[^\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]*$';
export const NameText = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: NAME_TEXT_PATTERN });

/** Names of secrets, info fields, prefixes. */
export const NAME_PATTERN = '^[A-Za-z0-9_]+$';

export const Text = (maxLength: number, minLength = 0) => Type.String({ minLength, maxLength });

/** `{reason?}` body of DELETE/decision routes; absent bodies arrive as null. */
export const OptionalReason = Type.Union([
  Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }),
  Type.Null(),
]);
