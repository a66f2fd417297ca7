// Request and response shapes of API key templates and their info fields: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, Money, NAME_PATTERN, NameText, Nullable, SpendCap } from '../../lib/http.js';
import { ApprovalInput, ApprovalOutput } from './approval.js';
import { TEMPLATE_LIMITS as L } from './limits.js';

export const CreateTemplate = Type.Object({
  name: NameText(L.name),
  role_id: IdParam,
  description: Type.Optional(Type.String({ maxLength: L.description })),
  lifetime_days: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 3650 }))),
  /** billed requests per key per UTC month; null = unlimited */
  monthly_quota: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }))),
  monthly_spend_cap: Type.Optional(Nullable(SpendCap)),
  ...ApprovalInput,
});
export const PatchTemplate = Type.Partial(CreateTemplate);
const FieldName = Type.String({ minLength: 1, maxLength: L.fieldName, pattern: NAME_PATTERN });
export const CreateField = Type.Object({
  name: FieldName,
  description: Type.Optional(Type.String({ maxLength: L.fieldDescription })),
  value: Type.Optional(Type.String({ maxLength: L.fieldValue })),
  position: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
});
export const PatchField = Type.Partial(CreateField);
export const TemplateParams = Type.Object({ p: IdParam, t: IdParam });
export const FieldParams = Type.Object({ p: IdParam, t: IdParam, f: IdParam });

export const Field = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  value: Type.String(),
  position: Type.Integer(),
});
export const Template = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  role_id: Type.Integer(),
  role_name: Type.String(),
  price_per_request: Type.String({ description: "the role's price, decimal" }),
  currency: Type.String(),
  lifetime_days: Nullable(Type.Integer({ description: 'null: keys do not expire' })),
  monthly_quota: Nullable(Type.Integer({ description: 'billed requests per key per UTC month; null: unlimited' })),
  monthly_spend_cap: Nullable(Money),
  issued_keys: Type.Integer({ description: 'unrevoked keys issued from the template' }),
  fields: Type.Array(Field),
  ...ApprovalOutput,
  created_at: Instant,
  updated_at: Instant,
});
export const TemplateList = Type.Array(Template);
