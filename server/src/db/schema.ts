// Kysely table types. Conventions that hold on SQLite and PostgreSQL alike:
// integer ids; timestamps are epoch milliseconds (bigint); booleans are 0/1 integers;
// JSON is stored as text; money is integer micro-units (1e-6 of the currency).
import type { Generated } from 'kysely';

type Id = Generated<number>;

export interface UsersTable {
  id: Id;
  email: string;
  name: string;
  password_hash: string;
  created_at: number;
}

export interface SessionsTable {
  id: Id;
  token_hash: string;
  user_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

export interface ProjectsTable {
  id: Id;
  name: string;
  description: string;
  owner_id: number;
  created_at: number;
  /** how managers get request mails: 'immediate', or one 'daily' digest (in-app stays immediate) */
  request_mail: Generated<'immediate' | 'daily'>;
}

export interface NodesTable {
  id: Id;
  project_id: number;
  name: string;
  kind: 'input' | 'compute' | 'output';
  created_at: number;
}

export interface LinksTable {
  id: Id;
  project_id: number;
  from_node_id: number;
  to_node_id: number;
}

export interface RolesTable {
  id: Id;
  project_id: number;
  name: string;
  description: string;
  price_micros: number;
  is_public: number;
  is_owner: number;
  /** JSON: {project: string[], nodes: {[nodeId]: string[]}} */
  permissions: string;
  created_at: number;
  updated_at: number;
}

export interface MemberRolesTable {
  project_id: number;
  user_id: number;
  role_id: number;
  created_at: number;
}

export interface ApiKeyTemplatesTable {
  id: Id;
  project_id: number;
  name: string;
  description: string;
  role_id: number;
  lifetime_days: number | null;
  /** billed requests allowed per key per UTC calendar month; null = unlimited */
  monthly_quota: number | null;
  /** micro-units per key per UTC month, over the key's lineage; null = no cap */
  monthly_spend_cap_micros: number | null;
  /** how requests are decided: by a manager, or approved at once by the template's rule */
  approval: Generated<'manual' | 'auto'>;
  /** JSON array of lower-case email domains the auto rule is limited to; [] = everyone */
  auto_approve_email_domains: Generated<string>;
  /** text a requester must accept; '' = none */
  terms: Generated<string>;
  /** JSON array of {name, label, required, max_length}: what a requester fills in */
  request_fields: Generated<string>;
  created_at: number;
  updated_at: number;
}

export interface TemplateFieldsTable {
  id: Id;
  template_id: number;
  position: number;
  name: string;
  description: string;
  value: string;
}

export interface KeyRequestsTable {
  id: Id;
  project_id: number;
  template_id: number;
  user_id: number;
  status: 'pending' | 'approved' | 'rejected' | 'cancelled' | 'expired';
  reason: string | null;
  created_at: number;
  decided_at: number | null;
  decided_by: number | null;
  /** a renewal: the key whose approval rolls over to the new one */
  renews_key_id: number | null;
  /** JSON object: the requester's values of the template's request fields */
  fields: Generated<string>;
  /** SHA-256 (hex) of the terms text the requester accepted; null: the template had no terms */
  terms_hash: string | null;
  /** set when a rule, not a person, decided: 'auto_approval' */
  decided_by_rule: string | null;
}

export interface ApiKeysTable {
  id: Id;
  project_id: number;
  template_id: number;
  role_id: number;
  user_id: number;
  request_id: number;
  /** random, unguessable key id (the JWT's jti); the token itself is never stored, only its digest */
  jti: string;
  /** SHA-256 of the token as issued (base64url), what a first-seen token is compared with; null on a key issued before digests were kept until the start-up backfill reaches it */
  token_sha256: string | null;
  kid: string;
  issued_at: number;
  /** when the key stops working: its lifetime's end, or a roll's grace end if sooner */
  expires_at: number | null;
  /** the token's `exp` claim as issued (tokens are re-derived from these claims; a roll leaves it) */
  claims_expires_at: number | null;
  /** the key this one replaced in a roll or renewal */
  rolled_from: number | null;
  /** the key that replaced this one */
  rolled_to: number | null;
  /** the first key of the lineage (null on that first key): quotas count the whole lineage */
  lineage_id: number | null;
  /** the template's monthly spend cap (micro-units), copied like monthly_quota */
  template_spend_cap_micros: number | null;
  /** a manager's cap for this key: replaces the template's */
  manager_spend_cap_micros: number | null;
  /** the holder's own cap: applies when lower */
  self_spend_cap_micros: number | null;
  /** the last key request answered (any outcome), flushed with the analytics counters */
  last_used_at: number | null;
  created_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** iss claim the token was issued with */
  issuer: string;
  /** copy of the template's monthly_quota (kept in sync by template edits) */
  monthly_quota: number | null;
  /** the template's name at issue time (kept after the template is deleted) */
  template_name: string;
  /** bumped on every change (revocation); instances poll it to refresh their key directory */
  updated_at: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  /** private key (PKCS#8 DER) sealed with the master key */
  private_enc: string;
  active: number;
  created_at: number;
}

export interface DataLayersTable {
  id: Id;
  project_id: number;
  name: string;
  kind: 'shared' | 'personal';
  user_id: number | null;
  created_at: number;
}

export interface PackagesTable {
  id: Id;
  project_id: number;
  node_id: number;
  data_layer_id: number;
  label: string;
  master_id: number | null;
  /** JSON number[] */
  parent_ids: string;
  /** JSON object */
  fields: string;
  created_by_user_id: number | null;
  created_by_key_id: number | null;
  created_at: number;
}

export interface PackageFilesTable {
  id: Id;
  package_id: number;
  position: number;
  name: string;
  content_hash: string;
  size: number;
  type: string;
  is_executable: number;
  is_binary: number;
}

export interface ObjectsTable {
  sha256: string;
  size: number;
  /** the bytes of objects stored before migration 013 (store_key `inline:<sha256>`); empty otherwise */
  data: Buffer;
  created_at: number;
  /** where the bytes are: 'db' (object_chunks, or inline), 'fs' or 's3' */
  store: string;
  /** the key inside that store */
  store_key: string;
  /** last time a layer was given or promised the object (the collector's grace period counts from it) */
  touched_at: number;
}

/** Bytes of db-store objects, 1 MiB per row (migration 013). */
export interface ObjectChunksTable {
  key: string;
  seq: number;
  data: Buffer;
  created_at: number;
}

/** The one row whose conditional update lets a single instance run the object collector. */
export interface ObjectGcStateTable {
  id: number;
  locked_until: number;
  last_run_at: number;
}

/** Which projects may reference an object (migration 002): the uploader's project. */
export interface ProjectObjectsTable {
  project_id: number;
  sha256: string;
  created_at: number;
}

export interface UsageBucketsTable {
  key_id: number;
  project_id: number;
  /** start of the UTC hour, epoch ms */
  hour: number;
  price_micros: number;
  count: number;
}

export interface UsageBatchesTable {
  batch_id: string;
  applied_at: number;
}

export interface SecretsTable {
  id: Id;
  project_id: number;
  name: string;
  description: string;
  type: 'variable' | 'registry';
  /** sealed JSON value; see lib/crypto */
  value_enc: string;
  /** JSON number[] */
  node_ids: string;
  created_at: number;
  updated_at: number;
  /** the API key this secret was imported from (a roll rewrites its token secret) */
  source_key_id: number | null;
  /** which part of that key: null for the token, else the info field's name */
  source_field: string | null;
}

export interface ProjectKeysTable {
  project_id: number;
  /** the project's data key wrapped by the master key */
  wrapped_key: string;
  created_at: number;
}

export interface NotificationsTable {
  id: Id;
  user_id: number;
  project_id: number | null;
  kind: string;
  title: string;
  body: string;
  link: string;
  /** JSON object of the text's parameters (requester, template, project, reason); NULL on old rows */
  params: string | null;
  created_at: number;
  read_at: number | null;
  /** 1: the mail of this notice goes out in the recipient's daily digest */
  mail_digest: Generated<number>;
  /** when the digest holding it was written (null: not yet, or not a digest notice) */
  digested_at: number | null;
}

export interface OutboxTable {
  id: Id;
  to_email: string;
  subject: string;
  body: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

export interface AuditLogTable {
  id: Id;
  project_id: number;
  actor_user_id: number | null;
  actor_key_id: number | null;
  action: string;
  object_type: string;
  object_id: number | null;
  /** JSON object; never holds a token or secret value */
  details: string;
  created_at: number;
}

export interface InvitationsTable {
  id: Id;
  project_id: number;
  /** normalized (lower-case) address; the invitee is whoever holds an account with it */
  email: string;
  /** JSON array of role ids */
  role_ids: string;
  invited_by: number;
  status: 'pending' | 'accepted' | 'declined' | 'cancelled';
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  projects: ProjectsTable;
  nodes: NodesTable;
  links: LinksTable;
  roles: RolesTable;
  member_roles: MemberRolesTable;
  api_key_templates: ApiKeyTemplatesTable;
  template_fields: TemplateFieldsTable;
  key_requests: KeyRequestsTable;
  api_keys: ApiKeysTable;
  signing_keys: SigningKeysTable;
  data_layers: DataLayersTable;
  packages: PackagesTable;
  package_files: PackageFilesTable;
  objects: ObjectsTable;
  project_objects: ProjectObjectsTable;
  layer_objects: LayerObjectsTable;
  object_chunks: ObjectChunksTable;
  object_gc_state: ObjectGcStateTable;
  usage_buckets: UsageBucketsTable;
  usage_batches: UsageBatchesTable;
  secrets: SecretsTable;
  project_keys: ProjectKeysTable;
  notifications: NotificationsTable;
  outbox: OutboxTable;
  audit_log: AuditLogTable;
  invitations: InvitationsTable;
  login_failures: LoginFailuresTable;
  key_reminders: KeyRemindersTable;
  usage_alerts: UsageAlertsTable;
  usage_key_outcomes: UsageKeyOutcomesTable;
  usage_key_operations: UsageKeyOperationsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  digest_claims: DigestClaimsTable;
}

/** A manager's daily request digest for one UTC day (epoch day number): written once. */
export interface DigestClaimsTable {
  user_id: number;
  day: number;
  created_at: number;
}

/** An 80 % / 100 % alert of a lineage's quota or spend cap in one UTC month: sent once. */
export interface UsageAlertsTable {
  lineage_id: number;
  month: number;
  metric: 'quota' | 'cap';
  threshold: 80 | 100;
  created_at: number;
}

/** Key requests per key, UTC day and outcome (billed, 403, 404, 429_quota, 429_cap, 429_rate, 4xx, 5xx). */
export interface UsageKeyOutcomesTable {
  key_id: number;
  project_id: number;
  day: number;
  outcome: string;
  requests: number;
}

/** Key requests per key, UTC day and operation (method and route template). */
export interface UsageKeyOperationsTable {
  key_id: number;
  project_id: number;
  day: number;
  operation: string;
  requests: number;
}

/** An expiry reminder sent (or being sent) for a key: the primary key makes it once per kind. */
export interface KeyRemindersTable {
  key_id: number;
  kind: '7d' | '1d';
  created_at: number;
}

export interface LoginFailuresTable {
  /** SHA-256 (base64url) of the normalized email: unknown emails are counted like known ones */
  key: string;
  /** consecutive wrong passwords (reset by a successful login) */
  failures: number;
  /** no attempt is checked before this time (epoch ms; 0 = not locked) */
  locked_until: number;
  last_failure_at: number;
}

/** Which data layers hold an object (migration 010): may reference it, get null from PUT objects. */
export interface LayerObjectsTable {
  data_layer_id: number;
  sha256: string;
  created_at: number;
}

/** A project's webhook endpoint (migration 014). */
export interface WebhookEndpointsTable {
  id: Id;
  project_id: number;
  url: string;
  description: string;
  /** JSON array of the event types it receives */
  events: string;
  /** the signing secret (whsec_…) sealed with the project's data key (lib/data-keys) */
  secret_enc: string;
  enabled: number;
  /** time of the first failed attempt since the last success; null while deliveries succeed */
  failing_since: number | null;
  /** why it is disabled: 'failing' (by the server) or 'manual'; null while enabled */
  disabled_reason: 'failing' | 'manual' | null;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
}

/** One event for one endpoint: the durable queue row, claimed by one instance at a time. */
export interface WebhookDeliveriesTable {
  id: Id;
  endpoint_id: number;
  project_id: number;
  /** the webhook-id header, the same on every attempt */
  msg_id: string;
  event_type: string;
  /** the exact JSON body that is signed and sent */
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  last_status_code: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
  created_at: number;
  last_attempt_at: number | null;
  delivered_at: number | null;
}

/** One HTTP attempt of a delivery. */
export interface WebhookAttemptsTable {
  id: Id;
  delivery_id: number;
  attempt: number;
  started_at: number;
  /** the receiver's HTTP status; null when no answer came (timeout, refused address, connection error) */
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}
