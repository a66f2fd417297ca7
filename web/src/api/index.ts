// Every Keyport endpoint the UI uses, one function each. Paths, bodies, queries and answers are
// typed by the server's contract (see endpoint() in ./http.ts): the answers are used as they come.
import { downloadFile } from './download.js';
import { endpoint as at, request } from './http.js';
import type {
  AuditFilters,
  Body,
  FieldInput,
  FieldPatch,
  IssuedQuery,
  KeyRequestStatus,
  NodeKind,
  Period,
  RoleInput,
  SecretInput,
  SecretPatch,
  TemplateInput,
  TemplatePatch,
  WebhookInput,
  WebhookPatch,
  WebhookTest,
} from './types.js';

export * from './http.js';
export type * from './types.js';

type Id = number;

export const auth = {
  me: () => at('/auth/me').get(),
  login: (email: string, password: string) => at('/auth/login').post({ email, password }),
  signup: (email: string, password: string, name: string) => at('/auth/signup').post({ email, password, name }),
  logout: () => at('/auth/logout').post(),
  /** ends every OTHER session of mine; 401 INVALID_CREDENTIALS for a wrong current password */
  changePassword: (current_password: string, new_password: string) =>
    at('/auth/password').post({ current_password, new_password }),
  /** ends every session of mine, this one included */
  logoutAll: () => at('/auth/logout-all').post(),
};

export const projects = {
  list: async () => (await at('/projects').get({ page_size: 100 })).items,
  get: (p: Id) => at('/projects/{p}', { p }).get(),
  create: (name: string, description: string) => at('/projects').post({ name, description }),
  update: (p: Id, patch: Body<'/projects/{p}', 'patch'>) => at('/projects/{p}', { p }).patch(patch),
  remove: (p: Id) => at('/projects/{p}', { p }).delete(),
  /** public projects with at least one API key template, by part of the name */
  offering: (q: string, page: number, page_size: number) =>
    at('/projects/offering').get({ ...(q.trim() ? { q: q.trim() } : {}), page, page_size }),
};

export const graph = {
  nodes: (p: Id, search?: string) => at('/projects/{p}/nodes', { p }).get({ search }),
  createNode: (p: Id, name: string, kind: NodeKind) => at('/projects/{p}/nodes', { p }).post({ name, kind }),
  updateNode: (p: Id, n: Id, patch: Body<'/projects/{p}/nodes/{n}', 'patch'>) =>
    at('/projects/{p}/nodes/{n}', { p, n }).patch(patch),
  removeNode: (p: Id, n: Id) => at('/projects/{p}/nodes/{n}', { p, n }).delete(),
  links: (p: Id) => at('/projects/{p}/links', { p }).get(),
  createLink: (p: Id, from_node_id: Id, to_node_id: Id) =>
    at('/projects/{p}/links', { p }).post({ from_node_id, to_node_id }),
  removeLink: (p: Id, l: Id) => at('/projects/{p}/links/{l}', { p, l }).delete(),
};

export const roles = {
  list: (p: Id) => at('/projects/{p}/roles', { p }).get(),
  create: (p: Id, input: Body<'/projects/{p}/roles', 'post'>) => at('/projects/{p}/roles', { p }).post(input),
  update: (p: Id, r: Id, input: RoleInput) => at('/projects/{p}/roles/{r}', { p, r }).patch(input),
  /** answers how many keys issued with the role it revoked */
  remove: (p: Id, r: Id) => at('/projects/{p}/roles/{r}', { p, r }).delete(),
};

export const members = {
  list: async (p: Id) => (await at('/projects/{p}/members', { p }).get()).items,
  /** `role_ids: []` removes the member */
  setRoles: (p: Id, user_id: Id, role_ids: number[]) =>
    at('/projects/{p}/members/{user_id}', { p, user_id }).put({ role_ids }),
  /** the same answer whether or not an account exists for the email */
  invite: (p: Id, email: string, role_ids: number[]) => at('/projects/{p}/members', { p }).post({ email, role_ids }),
  /** pending, unexpired invitations only */
  invitations: async (p: Id) => (await at('/projects/{p}/invitations', { p }).get()).items,
  cancelInvitation: (p: Id, i: Id) => at('/projects/{p}/invitations/{i}', { p, i }).delete(),
};

export const templates = {
  /** info fields come ordered by position */
  list: (p: Id) => at('/projects/{p}/api-key-templates', { p }).get(),
  create: (p: Id, input: TemplateInput) => at('/projects/{p}/api-key-templates', { p }).post(input),
  update: (p: Id, t: Id, patch: TemplatePatch) => at('/projects/{p}/api-key-templates/{t}', { p, t }).patch(patch),
  /** answers how many keys issued from the template it revoked */
  remove: (p: Id, t: Id) => at('/projects/{p}/api-key-templates/{t}', { p, t }).delete(),
  addField: (p: Id, t: Id, field: FieldInput) => at('/projects/{p}/api-key-templates/{t}/fields', { p, t }).post(field),
  updateField: (p: Id, t: Id, f: Id, patch: FieldPatch) =>
    at('/projects/{p}/api-key-templates/{t}/fields/{f}', { p, t, f }).patch(patch),
  removeField: (p: Id, t: Id, f: Id) => at('/projects/{p}/api-key-templates/{t}/fields/{f}', { p, t, f }).delete(),
};

export const keyRequests = {
  offers: (p: Id) => at('/projects/{p}/api-key-offers', { p }).get(),
  /** answers `approved` (key issued) when the template's rule approves me at once, else `pending` */
  request: (p: Id, t: Id, body: Body<'/projects/{p}/api-key-templates/{t}/requests', 'post'> = {}) =>
    at('/projects/{p}/api-key-templates/{t}/requests', { p, t }).post(body),
  /** how approvers get request mails: one per request, or a daily digest */
  settings: (p: Id) => at('/projects/{p}/request-settings', { p }).get(),
  updateSettings: (p: Id, request_mail: 'immediate' | 'daily') =>
    at('/projects/{p}/request-settings', { p }).patch({ request_mail }),
  cancel: (p: Id, r: Id) => at('/projects/{p}/api-key-requests/{r}', { p, r }).delete(),
  list: async (p: Id, status: KeyRequestStatus = 'pending') =>
    (await at('/projects/{p}/api-key-requests', { p }).get({ status, page_size: 100 })).items,
  approve: (p: Id, r: Id) => at('/projects/{p}/api-key-requests/{r}/approve', { p, r }).post(),
  reject: (p: Id, r: Id, reason?: string) =>
    at('/projects/{p}/api-key-requests/{r}/reject', { p, r }).post(reason ? { reason } : {}),
};

export const issuedKeys = {
  list: (p: Id, q: IssuedQuery) => at('/projects/{p}/issued-keys', { p }).get(q),
  /** requests per day of one key */
  usage: async (p: Id, k: Id, period: Period) =>
    (await at('/projects/{p}/issued-keys/{k}/usage', { p, k }).get({ ...period, granularity: 'day' })).items,
  /** one key's requests by outcome and by operation (whole UTC days the period touches) */
  breakdown: (p: Id, k: Id, period: Period) => at('/projects/{p}/issued-keys/{k}/breakdown', { p, k }).get(period),
  /** requests per day of all keys of the project */
  projectUsage: async (p: Id, period: Period) =>
    (await at('/projects/{p}/usage', { p }).get({ ...period, granularity: 'day' })).items,
  /** the holder sees the reason; without one they are told "revoked by the project owner" in their language */
  revoke: (p: Id, k: Id, reason?: string) =>
    at('/projects/{p}/issued-keys/{k}', { p, k }).delete(reason ? { reason } : {}),
  /** a successor for the holder; the old key works `grace_seconds` more. No token: only the holder reads it */
  roll: (p: Id, k: Id, grace_seconds: number) =>
    at('/projects/{p}/issued-keys/{k}/roll', { p, k }).post({ grace_seconds }),
  /** replaces the template's cap for this key; null: the template's again */
  setSpendCap: (p: Id, k: Id, monthly_spend_cap: string | null) =>
    at('/projects/{p}/issued-keys/{k}', { p, k }).patch({ monthly_spend_cap }),
  /** every key of the period as a CSV file (a download, not JSON) */
  exportCsv: (p: Id, period: Period) => downloadFile(`/projects/${p}/issued-keys.csv`, period),
};

export const me = {
  keys: () => at('/me/api-keys').get(),
  token: (k: Id) => at('/me/api-keys/{k}/token', { k }).get(),
  /** a new key and its token (once); the old one works `grace_seconds` more; imported secrets follow */
  roll: (k: Id, grace_seconds: number) => at('/me/api-keys/{k}/roll', { k }).post({ grace_seconds }),
  /** revokes my own key; its managers are told */
  revoke: (k: Id, reason?: string) => at('/me/api-keys/{k}', { k }).delete(reason ? { reason } : {}),
  /** files a renewal request with the key's managers */
  renew: (k: Id) => at('/me/api-keys/{k}/renew', { k }).post(),
  /** requests per day of my key */
  usage: async (k: Id, period: Period) =>
    (await at('/me/api-keys/{k}/usage', { k }).get({ ...period, granularity: 'day' })).items,
  /** my key's requests by outcome and by operation (what its managers see) */
  breakdown: (k: Id, period: Period) => at('/me/api-keys/{k}/breakdown', { k }).get(period),
  /** my own cap, at most the project's; null: none of my own */
  setSpendCap: (k: Id, monthly_spend_cap: string | null) => at('/me/api-keys/{k}', { k }).patch({ monthly_spend_cap }),
  /** the 50 newest, and how many of all are unread */
  notifications: () => at('/me/notifications').get({ page_size: 50 }),
  markRead: (ids: number[]) => at('/me/notifications/read').post({ ids }),
  invitations: async () => (await at('/me/invitations').get()).items,
  acceptInvitation: (i: Id) => at('/me/invitations/{i}/accept', { i }).post(),
  declineInvitation: (i: Id) => at('/me/invitations/{i}/decline', { i }).post(),
};

export const secrets = {
  list: async (p: Id) => (await at('/projects/{p}/secrets', { p }).get({ page_size: 100 })).items,
  get: (p: Id, s: Id) => at('/projects/{p}/secrets/{s}', { p, s }).get(),
  value: (p: Id, s: Id) => at('/projects/{p}/secrets/{s}/value', { p, s }).get(),
  create: (p: Id, input: SecretInput) => at('/projects/{p}/secrets', { p }).post(input),
  update: (p: Id, s: Id, input: SecretPatch) => at('/projects/{p}/secrets/{s}', { p, s }).patch(input),
  remove: (p: Id, s: Id) => at('/projects/{p}/secrets/{s}', { p, s }).delete(),
  /** answers the secrets it created: `<prefix>_token` and one per info field */
  importKey: async (p: Id, key_id: Id, prefix: string, node_ids: number[] = []) =>
    (await at('/projects/{p}/secrets/import-api-key', { p }).post({ key_id, prefix, node_ids })).items,
};

export const audit = {
  list: (p: Id, page: number, page_size: number, filters: AuditFilters = {}) =>
    at('/projects/{p}/audit', { p }).get({ ...filters, page, page_size }),
  /** every matching entry as a CSV file (a download, not JSON) */
  exportCsv: (p: Id, filters: AuditFilters) => downloadFile(`/projects/${p}/audit.csv`, filters),
};

export const webhooks = {
  /** the project's endpoints, never their secrets */
  list: async (p: Id) => (await at('/projects/{p}/webhooks', { p }).get()).items,
  /** answers the endpoint with its `whsec_…` secret, shown this once */
  create: (p: Id, input: WebhookInput) => at('/projects/{p}/webhooks', { p }).post(input),
  /** `enabled: true` also restarts the failure count */
  update: (p: Id, w: Id, patch: WebhookPatch) => at('/projects/{p}/webhooks/{w}', { p, w }).patch(patch),
  /** removes it with its delivery log */
  remove: (p: Id, w: Id) => at('/projects/{p}/webhooks/{w}', { p, w }).delete(),
  /** the delivery log, newest first */
  deliveries: async (p: Id, w: Id, page_size = 50) =>
    (await at('/projects/{p}/webhooks/{w}/deliveries', { p, w }).get({ page: 1, page_size })).items,
  /** queues a `webhook.test` event for this endpoint; a 202, which `endpoint()` (200/201/204 only) does not type */
  test: (p: Id, w: Id) => request<WebhookTest>('POST', `/projects/${p}/webhooks/${w}/test`, {}),
};
