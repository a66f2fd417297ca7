// Issues a real key through the lifecycle API: role -> template (+fields) -> request -> approve -> token;
// reads what the owner's issued-keys list says of them.
import type { Static } from 'typebox';
import { expect } from 'vitest';
import type { IssuedKeyList, IssuedKey as IssuedKeyRow } from '../src/modules/usage/schemas.js';
import type { TestApp, UserSession } from './helpers.js';

export interface IssuedKey {
  token: string;
  keyId: number;
  templateId: number;
  roleId: number;
  requestId: number;
}

export interface IssueOptions {
  projectId: number;
  permissions: { project: string[]; nodes?: Record<string, string[]> };
  price?: string;
  fields?: { name: string; value: string; description?: string }[];
  lifetimeDays?: number;
  /** the template's monthly quota (billed requests per key per UTC month) */
  monthlyQuota?: number;
  /** reuse an existing role instead of creating one */
  roleId?: number;
}

let n = 0;
export async function issueKey(
  _t: TestApp,
  owner: UserSession,
  holder: UserSession,
  o: IssueOptions,
): Promise<IssuedKey> {
  n += 1;
  const p = o.projectId;
  const ok = (res: { statusCode: number; body: string }, step: string) => {
    if (res.statusCode >= 300) throw new Error(`${step} failed: ${res.statusCode} ${res.body}`);
    return JSON.parse(res.body);
  };
  const roleId =
    o.roleId ??
    ok(
      await owner.post(`/api/projects/${p}/roles`, {
        name: `key-role-${n}`,
        price_per_request: o.price ?? '0.01',
        permissions: { project: o.permissions.project, nodes: o.permissions.nodes ?? {} },
      }),
      'create role',
    ).id;
  const template = ok(
    await owner.post(`/api/projects/${p}/api-key-templates`, {
      name: `key-template-${n}`,
      role_id: roleId,
      description: 'test key',
      ...(o.lifetimeDays ? { lifetime_days: o.lifetimeDays } : {}),
      ...(o.monthlyQuota ? { monthly_quota: o.monthlyQuota } : {}),
    }),
    'create template',
  );
  for (const f of o.fields ?? [])
    ok(await owner.post(`/api/projects/${p}/api-key-templates/${template.id}/fields`, f), 'add field');
  // the holder must see the project (its About page) to request: a public viewer role, once
  if ((await holder.get(`/api/projects/${p}`)).statusCode === 404) await makeProjectVisible(owner, p);
  const request = ok(await holder.post(`/api/projects/${p}/api-key-templates/${template.id}/requests`), 'request');
  const key = ok(await owner.post(`/api/projects/${p}/api-key-requests/${request.id}/approve`), 'approve');
  const { token } = ok(await holder.get(`/api/me/api-keys/${key.id}/token`), 'token');
  return { token, keyId: key.id, templateId: template.id, roleId, requestId: request.id };
}

/** Make the holder able to see the project (a public viewer role), as the About page needs. */
export async function makeProjectVisible(owner: UserSession, projectId: number): Promise<number> {
  const res = await owner.post(`/api/projects/${projectId}/roles`, {
    name: `public-viewer-${++n}`,
    is_public: true,
    permissions: { project: ['project_view'] },
  });
  if (res.statusCode !== 201) throw new Error(`public role failed: ${res.body}`);
  return res.json().id;
}

/**
 * The owner's issued-keys list of a project over all time (first 100 keys), by key id, and its
 * totals: requests and cost as the owner sees them (what the meter has flushed so far).
 */
export async function issuedKeyStats(owner: UserSession, projectId: number) {
  const res = await owner.get(`/api/projects/${projectId}/issued-keys?from=2020-01-01&to=2040-01-01&page_size=100`);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as Static<typeof IssuedKeyList>;
  return {
    byId: new Map<number, Static<typeof IssuedKeyRow>>(body.items.map((i) => [i.id, i])),
    totals: body.totals,
  };
}
