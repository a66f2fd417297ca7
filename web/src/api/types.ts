// Shapes of the Keyport management API (SPEC §4). Optional members are ones the server may omit.
export interface User {
  id: number;
  email: string;
  name: string;
}

export interface Page<T> {
  total: number;
  items: T[];
}

export interface Permissions {
  project: string[];
  nodes: Record<string, string[]>;
}

export interface Project {
  id: number;
  name: string;
  description: string;
  owner_id: number;
  created_at: string;
  permissions?: Permissions;
  currency?: string;
  /** the caller holds the project's owner role (only owners delete the project, grant the owner role) */
  is_owner?: boolean;
}

export type NodeKind = 'input' | 'compute' | 'output';

export interface GraphNode {
  id: number;
  project_id: number;
  name: string;
  kind: NodeKind;
  created_at: string;
}

export interface Link {
  id: number;
  project_id: number;
  from_node_id: number;
  to_node_id: number;
}

export interface Role {
  id: number;
  project_id: number;
  name: string;
  description: string;
  price_per_request: string;
  currency: string;
  is_public: boolean;
  is_owner: boolean;
  permissions: Permissions;
  /** active API keys issued with this role (they gain whatever the role gains) */
  live_keys?: number;
}

/** A member as listed: `email` only when the caller has project_manage. */
export interface Member {
  user: { id: number; name: string; email?: string };
  role_ids: number[];
}

export interface PersonRef {
  id: number;
  name: string;
}

/** A pending invitation of a project, as its managers see it. */
export interface Invitation {
  id: number;
  project_id: number;
  email: string;
  role_ids: number[];
  status: 'pending' | 'accepted' | 'declined' | 'cancelled' | 'expired';
  created_at: string;
  expires_at: string;
  invited_by?: PersonRef;
}

/** An invitation addressed to me. */
export interface MyInvitation {
  id: number;
  project: PersonRef;
  roles: PersonRef[];
  invited_by: PersonRef;
  created_at: string;
  expires_at: string;
}

/** Answer of a password change or a sign-out everywhere. */
export interface SessionsEnded {
  ok: boolean;
  ended_sessions: number;
}

export interface TemplateField {
  id: number;
  name: string;
  description: string;
  value: string;
  position?: number;
}

export interface Template {
  id: number;
  project_id: number;
  name: string;
  description: string;
  role_id: number;
  role_name?: string;
  price_per_request?: string;
  currency?: string;
  fields: TemplateField[];
  issued_keys?: number;
  active_keys?: number;
  /** requests each key may make per calendar month; null (or absent) = unlimited */
  monthly_quota?: number | null;
}

export type OfferState = 'available' | 'pending' | 'received' | 'rejected' | 'revoked' | 'cancelled';

/** A key tile: one template, with the caller's state for it. */
export interface Offer {
  template_id: number;
  name: string;
  description: string;
  price_per_request: string;
  currency: string;
  state: OfferState;
  /** requests per key per calendar month; null = unlimited */
  monthly_quota?: number | null;
  /** billed requests of the held key this UTC month (received keys with a quota only) */
  used_this_month?: number | null;
  request_id?: number | null;
  key_id?: number | null;
  requested_at?: string | null;
  received_at?: string | null;
  decided_at?: string | null;
  revoked_at?: string | null;
  reason?: string | null;
  /** set when the server wrote the revocation reason itself: the UI words it in its language */
  reason_code?: 'owner' | 'template' | 'role' | 'expired' | null;
}

export interface KeyRequest {
  id: number;
  project_id: number;
  template_id: number;
  template_name?: string;
  user: User;
  status: 'pending' | 'approved' | 'rejected' | 'cancelled';
  reason?: string | null;
  created_at: string;
}

export interface IssuedKey {
  id: number;
  template_id: number;
  template_name: string;
  user: User;
  received_at: string;
  requests: number;
  total_cost: string;
  currency: string;
  revoked_at: string | null;
}

export interface UsagePoint {
  t: string;
  requests: number;
  cost?: string;
}

export interface MyKey {
  id: number;
  active?: boolean;
  project: { id: number; name: string };
  template: { id: number; name: string; description?: string };
  fields: TemplateField[];
  received_at: string;
  revoked_at?: string | null;
}

export interface Notification {
  id: number;
  project_id: number | null;
  kind: string;
  title: string;
  /** English text (kept for e-mail and rows without params) */
  body: string;
  link: string;
  /** what the text is made of (requester, email, template, project, reason); null on old rows */
  params?: Record<string, string | number | null> | null;
  created_at: string;
  read_at: string | null;
}

export interface Secret {
  id: number;
  project_id: number;
  name: string;
  description: string;
  type: 'variable' | 'registry';
  value?: unknown;
  node_ids: number[];
  created_at?: string;
  updated_at?: string;
}

export interface AuditEntry {
  id: number;
  action: string;
  object_type: string;
  object_id: number | null;
  details: Record<string, unknown>;
  actor: { user: User | null; key_id: number | null };
  created_at: string;
}
