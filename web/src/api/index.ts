// Every Keyport endpoint the UI uses, one function each. Responses are normalized here so
// components see one shape even where the server's shape is a superset.
import { http } from './http.js';
import type {
  GraphNode,
  Invitation,
  IssuedKey,
  KeyRequest,
  Link,
  Member,
  MyInvitation,
  MyKey,
  Notification,
  Offer,
  Page,
  Project,
  Role,
  Secret,
  SessionsEnded,
  Template,
  TemplateField,
  UsagePoint,
  User,
} from './types.js';

export * from './http.js';
export type * from './types.js';

type Session = { user: User; csrf_token: string };
const P = (p: number) => `/projects/${p}`;

/** Accepts a plain array or a {total, items} page. */
function items<T>(data: T[] | Page<T> | { items: T[] }): T[] {
  return Array.isArray(data) ? data : (data?.items ?? []);
}

export const auth = {
  me: () => http.get<Session>('/auth/me'),
  login: (email: string, password: string) => http.post<Session>('/auth/login', { email, password }),
  signup: (email: string, password: string, name: string) =>
    http.post<Session>('/auth/signup', { email, password, name }),
  logout: () => http.post<{ ok: boolean }>('/auth/logout'),
  /** ends every OTHER session of mine; 401 INVALID_CREDENTIALS for a wrong current password */
  changePassword: (current_password: string, new_password: string) =>
    http.post<SessionsEnded>('/auth/password', { current_password, new_password }),
  /** ends every session of mine, this one included */
  logoutAll: () => http.post<SessionsEnded>('/auth/logout-all'),
};

export const projects = {
  list: async () => items(await http.get<Page<Project>>('/projects', { page_size: 100 })),
  get: (p: number) => http.get<Project>(P(p)),
  create: (name: string, description: string) => http.post<Project>('/projects', { name, description }),
  update: (p: number, patch: { name?: string; description?: string }) => http.patch<Project>(P(p), patch),
  remove: (p: number) => http.del(P(p)),
};

export const graph = {
  nodes: async (p: number, search?: string) => items(await http.get<GraphNode[]>(`${P(p)}/nodes`, { search })),
  createNode: (p: number, name: string, kind: string) => http.post<GraphNode>(`${P(p)}/nodes`, { name, kind }),
  updateNode: (p: number, n: number, patch: { name?: string; kind?: string }) =>
    http.patch<GraphNode>(`${P(p)}/nodes/${n}`, patch),
  removeNode: (p: number, n: number) => http.del(`${P(p)}/nodes/${n}`),
  links: async (p: number) => items(await http.get<Link[]>(`${P(p)}/links`)),
  createLink: (p: number, from_node_id: number, to_node_id: number) =>
    http.post<Link>(`${P(p)}/links`, { from_node_id, to_node_id }),
  removeLink: (p: number, l: number) => http.del(`${P(p)}/links/${l}`),
};

export type RoleInput = Partial<Pick<Role, 'name' | 'description' | 'price_per_request' | 'is_public' | 'permissions'>>;

export const roles = {
  list: async (p: number) => items(await http.get<Role[]>(`${P(p)}/roles`)),
  create: (p: number, input: RoleInput) => http.post<Role>(`${P(p)}/roles`, input),
  update: (p: number, r: number, input: RoleInput) => http.patch<Role>(`${P(p)}/roles/${r}`, input),
  remove: (p: number, r: number) => http.del<{ revoked_keys: number }>(`${P(p)}/roles/${r}`),
};

export const members = {
  list: async (p: number) => items(await http.get<Page<Member>>(`${P(p)}/members`)),
  /** `role_ids: []` removes the member */
  setRoles: (p: number, userId: number, role_ids: number[]) => http.put(`${P(p)}/members/${userId}`, { role_ids }),
  /** the same answer whether or not an account exists for the email */
  invite: (p: number, email: string, role_ids: number[]) =>
    http.post<Invitation>(`${P(p)}/members`, { email, role_ids }),
  invitations: async (p: number) => items(await http.get<Page<Invitation>>(`${P(p)}/invitations`)),
  cancelInvitation: (p: number, i: number) => http.del(`${P(p)}/invitations/${i}`),
};

export type TemplatePatch = {
  name?: string;
  description?: string;
  role_id?: number;
  monthly_quota?: number | null;
};

export const templates = {
  list: async (p: number) => items(await http.get<Template[]>(`${P(p)}/api-key-templates`)).map(normTemplate),
  create: async (p: number, name: string, role_id: number, description = '', monthly_quota: number | null = null) =>
    normTemplate(await http.post<Template>(`${P(p)}/api-key-templates`, { name, role_id, description, monthly_quota })),
  update: async (p: number, t: number, patch: TemplatePatch) =>
    normTemplate(await http.patch<Template>(`${P(p)}/api-key-templates/${t}`, patch)),
  remove: (p: number, t: number) => http.del<{ revoked_keys?: number } | undefined>(`${P(p)}/api-key-templates/${t}`),
  addField: (p: number, t: number, field: { name: string; description?: string; value?: string }) =>
    http.post<TemplateField>(`${P(p)}/api-key-templates/${t}/fields`, field),
  updateField: (p: number, t: number, f: number, patch: Partial<TemplateField>) =>
    http.patch<TemplateField>(`${P(p)}/api-key-templates/${t}/fields/${f}`, patch),
  removeField: (p: number, t: number, f: number) => http.del(`${P(p)}/api-key-templates/${t}/fields/${f}`),
};

function normTemplate(t: Template): Template {
  return { ...t, fields: [...(t.fields ?? [])].sort((a, b) => (a.position ?? 0) - (b.position ?? 0)) };
}

export const keyRequests = {
  offers: async (p: number) => items(await http.get<(Offer & Record<string, unknown>)[]>(`${P(p)}/api-key-offers`)).map(normOffer),
  request: (p: number, t: number) =>
    http.post<{ id: number; status: string }>(`${P(p)}/api-key-templates/${t}/requests`),
  cancel: (p: number, r: number) => http.del(`${P(p)}/api-key-requests/${r}`),
  list: async (p: number, status = 'pending') =>
    items(await http.get<Page<KeyRequest>>(`${P(p)}/api-key-requests`, { status, page_size: 100 })),
  approve: (p: number, r: number) => http.post(`${P(p)}/api-key-requests/${r}/approve`),
  reject: (p: number, r: number, reason?: string) =>
    http.post(`${P(p)}/api-key-requests/${r}/reject`, reason ? { reason } : {}),
};

/** Tolerates `template: {id, name, …}` nesting and `status` instead of `state`. */
function normOffer(raw: Offer & Record<string, unknown>): Offer {
  const tpl = (raw.template ?? {}) as Partial<Template>;
  const req = (raw.request ?? {}) as Record<string, unknown>;
  const key = (raw.key ?? {}) as Record<string, unknown>;
  return {
    ...raw,
    template_id: raw.template_id ?? tpl.id ?? (raw.id as number),
    name: raw.name ?? tpl.name ?? '',
    description: raw.description ?? tpl.description ?? '',
    price_per_request: raw.price_per_request ?? tpl.price_per_request ?? '0',
    currency: raw.currency ?? tpl.currency ?? '',
    monthly_quota: raw.monthly_quota ?? tpl.monthly_quota ?? null,
    state: (raw.state ?? raw.status ?? 'available') as Offer['state'],
    request_id: raw.request_id ?? (req.id as number | undefined) ?? null,
    key_id: raw.key_id ?? (key.id as number | undefined) ?? null,
    // the server gives one `at`: when the current state began
    requested_at: raw.requested_at ?? (req.created_at as string | undefined) ?? (raw.at as string | undefined) ?? null,
    received_at: raw.received_at ?? (key.received_at as string | undefined) ?? (raw.at as string | undefined) ?? null,
    revoked_at: raw.revoked_at ?? (key.revoked_at as string | undefined) ?? (raw.at as string | undefined) ?? null,
    decided_at: raw.decided_at ?? (raw.at as string | undefined) ?? null,
    reason: raw.reason ?? (req.reason as string | undefined) ?? (key.revoked_reason as string | undefined) ?? null,
  };
}

export interface IssuedQuery {
  from: string;
  to: string;
  tz?: string;
  page: number;
  page_size: number;
  sort?: string;
}

export interface Period {
  from: string;
  to: string;
  tz?: string;
}

export const issuedKeys = {
  list: (p: number, q: IssuedQuery) =>
    http.get<Page<IssuedKey> & { totals?: { requests: number; total_cost: string; currency: string } }>(
      `${P(p)}/issued-keys`,
      {
        ...q,
      },
    ),
  usage: async (p: number, k: number, period: Period) =>
    normUsage(await http.get<unknown>(`${P(p)}/issued-keys/${k}/usage`, { ...period, granularity: 'day' })),
  projectUsage: async (p: number, period: Period) =>
    normUsage(await http.get<unknown>(`${P(p)}/usage`, { ...period, granularity: 'day' })),
  revoke: (p: number, k: number) => http.del(`${P(p)}/issued-keys/${k}`),
};

/** Usage as [{t, requests}] whatever the envelope ({items}, {series}, {points} or a bare list). */
function normUsage(data: unknown): UsagePoint[] {
  const d = data as Record<string, unknown>;
  const list = (Array.isArray(data) ? data : (d.items ?? d.series ?? d.points ?? d.buckets ?? [])) as Record<
    string,
    unknown
  >[];
  return list.map((x) => ({
    t: String(x.t ?? x.time ?? x.start ?? x.date ?? x.bucket ?? x.hour ?? x.day ?? ''),
    requests: Number(x.requests ?? x.count ?? 0),
    cost: x.cost === undefined ? undefined : String(x.cost),
  }));
}

export const me = {
  keys: async () => items(await http.get<(MyKey & Record<string, unknown>)[]>('/me/api-keys')).map(normMyKey),
  token: (k: number) => http.get<{ token: string }>(`/me/api-keys/${k}/token`),
  notifications: async () => items(await http.get<Page<Notification>>('/me/notifications', { page_size: 50 })),
  markRead: (ids: number[]) => http.post('/me/notifications/read', { ids }),
  invitations: async () => items(await http.get<Page<MyInvitation>>('/me/invitations')),
  acceptInvitation: (i: number) => http.post<{ project_id: number; role_ids: number[] }>(`/me/invitations/${i}/accept`),
  declineInvitation: (i: number) => http.post<{ ok: boolean }>(`/me/invitations/${i}/decline`),
};

function normMyKey(raw: MyKey & Record<string, unknown>): MyKey {
  const project = raw.project ?? { id: raw.project_id as number, name: (raw.project_name as string) ?? '' };
  const template = raw.template ?? {
    id: raw.template_id as number,
    name: (raw.template_name as string) ?? '',
    description: (raw.description as string) ?? '',
  };
  const fields = (raw.fields ?? (raw as { info_fields?: TemplateField[] }).info_fields ?? []) as TemplateField[];
  return { ...raw, project, template, fields, received_at: raw.received_at ?? (raw.issued_at as string) };
}

export type SecretInput = {
  name?: string;
  description?: string;
  value?: unknown;
  type?: 'variable' | 'registry';
  node_ids?: number[];
};

export const secrets = {
  list: async (p: number) => items(await http.get<Page<Secret>>(`${P(p)}/secrets`, { page_size: 100 })),
  get: (p: number, s: number) => http.get<Secret>(`${P(p)}/secrets/${s}`),
  value: (p: number, s: number) => http.get<{ id: number; name: string; value: unknown }>(`${P(p)}/secrets/${s}/value`),
  create: (p: number, input: SecretInput) => http.post<Secret>(`${P(p)}/secrets`, input),
  update: (p: number, s: number, input: SecretInput) => http.patch<Secret>(`${P(p)}/secrets/${s}`, input),
  remove: (p: number, s: number) => http.del(`${P(p)}/secrets/${s}`),
  importKey: (p: number, key_id: number, prefix: string, node_ids: number[] = []) =>
    http.post<{ items?: Secret[]; secrets?: Secret[] } | Secret[]>(`${P(p)}/secrets/import-api-key`, {
      key_id,
      prefix,
      node_ids,
    }),
};

export const audit = {
  list: (p: number, page: number, page_size: number) =>
    http.get<Page<import('./types.js').AuditEntry>>(`${P(p)}/audit`, { page, page_size }),
};
