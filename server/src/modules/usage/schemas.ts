// Request and response shapes of issued-key statistics: validation, types and OpenAPI in one.
import { type Static, Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Money, Nullable } from '../../lib/http.js';

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

export const ListQuery = Type.Object({
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

/** The period of a CSV export (at most 400 days). */
export const ExportQuery = Type.Object(PeriodQuery);

const Granularity = Type.Union([Type.Literal('hour'), Type.Literal('day')]);
export const SeriesQuery = Type.Object({
  ...PeriodQuery,
  granularity: Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' }),
});
export const KeyParams = Type.Object({ p: IdParam, k: IdParam });

const PeriodEnvelope = {
  from: Instant,
  to: Instant,
  tz: Type.String(),
  currency: Type.String(),
};

export const IssuedKeyStatus = Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]);
export const IssuedKey = Type.Object({
  id: Type.Integer(),
  template_id: Type.Integer(),
  template_name: Type.String(),
  user: Type.Object({ id: Type.Integer(), name: Type.String(), email: Type.String() }),
  received_at: Instant,
  requests: Type.Integer(),
  total_cost: Money,
  currency: Type.String(),
  revoked_at: MaybeInstant,
  expires_at: MaybeInstant,
  status: IssuedKeyStatus,
  rolled_from: Nullable(Type.Integer({ description: 'the key this one replaced in a roll or renewal' })),
  rolled_to: Nullable(Type.Integer({ description: 'the key that replaced this one' })),
  last_used_at: MaybeInstant,
  refused: Type.Integer({
    description: 'key requests not billed (403, 404, 429, other 4xx, 5xx) on the days of the period',
  }),
  monthly_spend_cap: Nullable(Money),
  manager_spend_cap: Nullable(Money),
});
export const IssuedKeyList = Type.Object({
  total: Type.Integer(),
  page: Type.Integer(),
  page_size: Type.Integer(),
  ...PeriodEnvelope,
  totals: Type.Object({
    requests: Type.Integer({ description: 'all keys of the project in the period' }),
    total_cost: Money,
    currency: Type.String(),
  }),
  items: Type.Array(IssuedKey),
});

export const SeriesPoint = Type.Object({ t: Instant, requests: Type.Integer(), cost: Money });
const SeriesBody = {
  ...PeriodEnvelope,
  granularity: Granularity,
  items: Type.Array(SeriesPoint),
  total: Type.Object({ requests: Type.Integer(), cost: Money }),
};
export const KeySeries = Type.Object({ key_id: Type.Integer(), ...SeriesBody });
export const ProjectSeries = Type.Object({ key_id: Type.Null({ description: 'all keys' }), ...SeriesBody });

export type IssuedKeyStatus = Static<typeof IssuedKeyStatus>;
export type IssuedKeyList = Static<typeof IssuedKeyList>;
export type SeriesPoint = Static<typeof SeriesPoint>;

/** One key's requests in a period by outcome and by operation (analytics counted per UTC day). */
export const BreakdownQuery = Type.Object(PeriodQuery);
export const KeyBreakdown = Type.Object({
  key_id: Type.Integer(),
  ...PeriodEnvelope,
  days_from: Instant,
  days_to: Instant,
  outcomes: Type.Array(
    Type.Object({
      outcome: Type.String({ description: 'billed, 403, 404, 429_quota, 429_cap, 429_rate, 4xx, 5xx' }),
      requests: Type.Integer(),
      cost: Money,
    }),
  ),
  operations: Type.Array(
    Type.Object({ operation: Type.String({ description: 'method and route template' }), requests: Type.Integer() }),
  ),
  total: Type.Object({ requests: Type.Integer(), cost: Money }),
});
