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
  status: 'pending' | 'approved' | 'rejected' | 'cancelled';
  reason: string | null;
  created_at: number;
  decided_at: number | null;
  decided_by: number | null;
}

export interface ApiKeysTable {
  id: Id;
  project_id: number;
  template_id: number;
  role_id: number;
  user_id: number;
  request_id: number;
  /** random, unguessable key id (the JWT's jti); the token itself is never stored */
  jti: string;
  kid: string;
  issued_at: number;
  expires_at: number | null;
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
  data: Buffer;
  created_at: number;
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
  usage_buckets: UsageBucketsTable;
  usage_batches: UsageBatchesTable;
  secrets: SecretsTable;
  project_keys: ProjectKeysTable;
  notifications: NotificationsTable;
  outbox: OutboxTable;
  audit_log: AuditLogTable;
  invitations: InvitationsTable;
  login_failures: LoginFailuresTable;
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
