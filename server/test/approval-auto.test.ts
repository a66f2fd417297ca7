// Auto-approval by the template's rule, through HTTP on a real database: a matching email domain
// gets its key in the answer (issued in the same transaction, audited as decided by the rule),
// a mismatch stays pending for a manager.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalSetup, domainOf } from './approval-helpers.js';
import { makeTestApp, signUp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => t.close());

describe('auto-approval', () => {
  it('a matching domain is approved at once: key issued, no person as actor, approvers not asked', async () => {
    const owner = await signUp(t.app, 'Owner');
    const requester = await signUp(t.app, 'Requester');
    const s = await approvalSetup(owner, {
      approval: 'auto',
      auto_approve_email_domains: [domainOf(requester).toUpperCase(), 'other.test'],
    });
    const tpl = (await owner.get(`/api/projects/${s.projectId}/api-key-templates/${s.templateId}`)).json();
    expect(tpl.approval).toBe('auto');
    expect(tpl.auto_approve_email_domains).toEqual([domainOf(requester), 'other.test']);

    const offers = (await requester.get(`/api/projects/${s.projectId}/api-key-offers`)).json();
    expect(offers[0]).toMatchObject({ approval: 'auto', auto_approves_me: true, terms: '', request_fields: [] });

    const res = await requester.post(s.requestUrl, {});
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ status: 'approved', decided_by_rule: 'auto_approval' });
    expect(body.key_id).toEqual(expect.any(Number));
    expect(body.decided_at).not.toBeNull();
    // the key works: its holder fetches the token and calls whoami
    const tok = await requester.get(`/api/me/api-keys/${body.key_id}/token`);
    expect(tok.statusCode).toBe(200);
    const who = await t.app.inject({
      method: 'GET',
      url: '/api/auth/whoami',
      headers: { authorization: `Bearer ${tok.json().token}` },
    });
    expect(who.statusCode).toBe(200);

    const k = t.app.ctx.k;
    const row = await k.selectFrom('key_requests').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'approved', decided_by: null, decided_by_rule: 'auto_approval' });
    const approved = await k
      .selectFrom('audit_log')
      .selectAll()
      .where('project_id', '=', s.projectId)
      .where('action', '=', 'key.approved')
      .execute();
    expect(approved).toHaveLength(1);
    expect(approved[0]?.actor_user_id).toBeNull();
    expect(approved[0]?.actor_key_id).toBeNull();
    expect(JSON.parse(approved[0]?.details ?? '{}')).toMatchObject({
      decided_by_rule: 'auto_approval',
      request_id: body.id,
    });
    // managers were not asked to decide; the requester was told
    const kinds = (await k.selectFrom('notifications').select(['user_id', 'kind']).execute()).map(
      (n) => `${n.user_id}:${n.kind}`,
    );
    expect(kinds).not.toContain(`${owner.user.id}:key_request.created`);
    expect(kinds).toContain(`${requester.user.id}:key_request.approved`);
    // the requests list shows the rule as the decider
    const list = (await owner.get(`/api/projects/${s.projectId}/api-key-requests?status=approved`)).json();
    expect(list.items[0]).toMatchObject({ id: body.id, decided_by_rule: 'auto_approval' });
    // holding the key, a second request is a conflict
    expect((await requester.post(s.requestUrl, {})).statusCode).toBe(409);
  });

  it('a domain not on the list stays pending for a manager, who sees it and approves it', async () => {
    const owner = await signUp(t.app, 'Owner');
    const requester = await signUp(t.app, 'Stranger');
    const s = await approvalSetup(owner, { approval: 'auto', auto_approve_email_domains: ['partner.example'] });
    const offers = (await requester.get(`/api/projects/${s.projectId}/api-key-offers`)).json();
    expect(offers[0]).toMatchObject({ approval: 'auto', auto_approves_me: false });
    const res = await requester.post(s.requestUrl, {});
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'pending', decided_by_rule: null, key_id: null });
    expect(
      await t.app.ctx.k.selectFrom('api_keys').select('id').where('template_id', '=', s.templateId).execute(),
    ).toHaveLength(0);
    const notices = await t.app.ctx.k
      .selectFrom('notifications')
      .select('kind')
      .where('user_id', '=', owner.user.id)
      .where('kind', '=', 'key_request.created')
      .execute();
    expect(notices).toHaveLength(1);
    const ok = await owner.post(`/api/projects/${s.projectId}/api-key-requests/${res.json().id}/approve`);
    expect(ok.statusCode).toBe(200);
    const row = await t.app.ctx.k
      .selectFrom('key_requests')
      .selectAll()
      .where('id', '=', res.json().id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ decided_by: owner.user.id, decided_by_rule: null });
  });

  it('auto without domains approves everyone; manual (the default) approves no one', async () => {
    const owner = await signUp(t.app, 'Owner');
    const a = await signUp(t.app, 'Anyone');
    const open = await approvalSetup(owner, { approval: 'auto' });
    expect((await a.post(open.requestUrl)).json().status).toBe('approved');
    const owner2 = await signUp(t.app, 'Owner');
    const manual = await approvalSetup(owner2);
    expect(
      (await owner2.get(`/api/projects/${manual.projectId}/api-key-templates/${manual.templateId}`)).json(),
    ).toMatchObject({
      approval: 'manual',
      auto_approve_email_domains: [],
    });
    expect((await a.post(manual.requestUrl)).json().status).toBe('pending');
  });

  it('refuses a malformed domain naming the field, and switching to manual stops the rule', async () => {
    const owner = await signUp(t.app, 'Owner');
    const s = await approvalSetup(owner, { approval: 'auto' });
    const url = `/api/projects/${s.projectId}/api-key-templates/${s.templateId}`;
    const bad = await owner.patch(url, { auto_approve_email_domains: ['not a domain'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('auto_approve_email_domains.0');
    expect((await owner.patch(url, { approval: 'manual' })).json().approval).toBe('manual');
    const r = await signUp(t.app, 'Late');
    expect((await r.post(s.requestUrl)).json().status).toBe('pending');
  });
});

describe('auto-approval races', () => {
  it('ten identical requests at once: one key, the others refused', async () => {
    const owner = await signUp(t.app, 'Owner');
    const requester = await signUp(t.app, 'Eager');
    const s = await approvalSetup(owner, { approval: 'auto' });
    const answers = await Promise.all(Array.from({ length: 10 }, () => requester.post(s.requestUrl, {})));
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c !== 201).every((c) => c === 409)).toBe(true);
    const keys = await t.app.ctx.k
      .selectFrom('api_keys')
      .select('id')
      .where('template_id', '=', s.templateId)
      .execute();
    expect(keys).toHaveLength(1);
  });
});
