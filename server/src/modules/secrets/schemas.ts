// Request and response shapes of secrets and the runner view: validation, types and OpenAPI in one.
import { type Static, Type } from 'typebox';
import { IdParam, Instant, NAME_PATTERN, Nullable, Page, PagingQuery } from '../../lib/http.js';
import { MAX_NAME_LENGTH } from './service.js';

const Name = Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, pattern: NAME_PATTERN });
const RegistryInput = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 255 }),
  user: Type.String({ maxLength: 255 }),
  password: Type.String({ maxLength: 4096 }),
});
const ValueInput = Type.Union([Type.String({ maxLength: 65_536 }), RegistryInput]);
export const SecretType = Type.Union([Type.Literal('variable'), Type.Literal('registry')]);
const NodeIds = Type.Array(IdParam, { maxItems: 1000 });

export const SecretParams = Type.Object({ p: IdParam, s: IdParam });
export const NodeParams = Type.Object({ p: IdParam, n: IdParam });
export const ListQuery = Type.Object({
  ...PagingQuery.properties,
  reveal: Type.Optional(Type.String({ pattern: '^(1|0|true|false)$', description: '1/true adds `value` (audited)' })),
});
export const CreateSecret = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  type: Type.Optional(SecretType),
  value: ValueInput,
  node_ids: Type.Optional(NodeIds),
});
export const PatchSecret = Type.Partial(CreateSecret);
export const ImportKey = Type.Object({
  key_id: IdParam,
  prefix: Type.String({ minLength: 1, maxLength: 64, pattern: NAME_PATTERN }),
  node_ids: Type.Optional(NodeIds),
});

// Answers carry no input bounds: the serializer tells the value's branches apart by validating.
const RegistryValue = Type.Object({ host: Type.String(), user: Type.String(), password: Type.String() });
export const SecretValue = Type.Union([Type.String(), RegistryValue]);

export const Secret = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  type: SecretType,
  node_ids: Type.Array(Type.Integer()),
  created_at: Instant,
  updated_at: Instant,
  value: Type.Optional(
    Type.Union([Type.String(), RegistryValue], { description: 'only when a project manager reveals (?reveal=1)' }),
  ),
  source_key_id: Type.Optional(Nullable(Type.Integer({ description: 'the API key this secret was imported from' }))),
  source_key_status: Type.Optional(
    Nullable(
      Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('rolled')], {
        description:
          'in lists: the state of the source key (rolled: replaced and past its grace period); null when not imported',
      }),
    ),
  ),
});
export const SecretList = Page(Secret);
export const RevealedSecret = Type.Object({ id: Type.Integer(), name: Type.String(), value: SecretValue });
export const ImportedSecrets = Type.Object({ items: Type.Array(Secret) });
/** The runner view: NAME -> environment value (registry credentials as their JSON text). */
export const RunnerSecrets = Type.Record(Type.String(), Type.String());

export type Secret = Static<typeof Secret>;
