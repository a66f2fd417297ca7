// Schemas and helpers shared by route modules.
import { type Static, type TSchema, Type } from 'typebox';

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

/** Every error answer: `{error: {code, message, ...details}}` (details such as `field` or `conflicts`). */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'UPPER_SNAKE error code (server/src/errors.ts)' }),
        message: Type.String(),
        field: Type.Optional(
          Type.String({
            description: 'VALIDATION_FAILED: the refused input, a dotted path (e.g. "name", "fields.0.name")',
          }),
        ),
        keyword: Type.Optional(
          Type.String({
            description:
              'VALIDATION_FAILED: what it broke: a JSON Schema keyword (maxLength, minLength, pattern, required, type, maximum…) or a rule of the server (reserved)',
          }),
        ),
        limit: Type.Optional(
          Type.Number({
            description:
              'the bound that was broken (VALIDATION_FAILED with maxLength, maximum…; a count limit): e.g. 100',
          }),
        ),
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'ErrorResponse', title: 'ErrorResponse' },
);

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;
const ERROR_REF = Type.Ref('ErrorResponse');

/** Error answers a route documents: each status maps to the one ErrorResponse schema. */
export function errors(...statuses: ErrorStatus[]): Record<number, typeof ERROR_REF> {
  return Object.fromEntries(statuses.map((s) => [s, ERROR_REF]));
}

/** What any signed-in project route can answer besides its success. */
export const PROJECT_ERRORS = errors(400, 401, 403, 404, 429, 503);

/** `{total, items}` of a list endpoint. */
export const Page = <T extends TSchema>(item: T) => Type.Object({ total: Type.Integer(), items: Type.Array(item) });

/** An ISO 8601 timestamp, or null where the event has not happened. */
export const Instant = Type.String({ format: 'date-time' });
export const MaybeInstant = Type.Union([Instant, Type.Null()]);
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** Money is decimal text (exact micro-units, e.g. "0.05"), never a float. */
export const Money = Type.String({ description: 'decimal text, e.g. "12.50"' });

/** A monthly spend cap as sent: decimal text in the currency (its decimals are checked by parseCap). */
export const SpendCap = Type.String({
  maxLength: 20,
  pattern: '^\\s*\\d+(\\.\\d+)?\\s*$',
  description: 'decimal text in the project currency per key per UTC month, e.g. "25.00"',
});

/** What Fastify sends JSON as; set it with `reply.type` to send JSON text the route made itself. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** 204 No Content. */
export const NoContent = Type.Null({ description: 'No content' });

/**
 * Names people give things (users, projects, nodes, roles, templates): not blank, and no control
 * characters, line separators or bidirectional overrides, which could fake line breaks in a mail
 * or reorder what a reader sees.
 */
export const NAME_TEXT_PATTERN =
  '^(?=[\\s\\S]*\\S)[^\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069]*$';
export const NameText = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: NAME_TEXT_PATTERN });

/** Names of secrets, info fields, prefixes. */
export const NAME_PATTERN = '^[A-Za-z0-9_]+$';

export const Text = (maxLength: number, minLength = 0) => Type.String({ minLength, maxLength });

/** `{reason?}` body of DELETE/decision routes; absent bodies arrive as null. */
export const OptionalReason = Type.Union([
  Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }),
  Type.Null(),
]);
