// Terms and request fields: each bad input is a 400 naming the field with nothing written; a good
// request keeps the values and the accepted terms' hash, shown to managers in the requests list.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalSetup } from './approval-helpers.js';
import { makeTestApp, signUp, snapshot, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(async () => t.close());

const TERMS = 'Use the calculator for research only.\nNo resale.';
const FIELDS = [
  { name: 'organisation', label: 'Organisation', required: true, max_length: 20 },
  { name: 'use', label: 'Intended use', required: false },
];

describe('template settings', () => {
  it('keeps terms and request fields, with defaults filled in', async () => {
    const owner = await signUp(t.app, 'Owner');
    const s = await approvalSetup(owner, { terms: TERMS, request_fields: FIELDS });
    const tpl = (await owner.get(`/api/projects/${s.projectId}/api-key-templates/${s.templateId}`)).json();
    expect(tpl.terms).toBe(TERMS);
    expect(tpl.request_fields).toEqual([
      { name: 'organisation', label: 'Organisation', required: true, max_length: 20 },
      { name: 'use', label: 'Intended use', required: false, max_length: 500 },
    ]);
  });

  it.each([
    ['terms too long', { terms: 'x'.repeat(20_001) }, 'terms'],
    [
      'too many fields',
      { request_fields: Array.from({ length: 21 }, (_, i) => ({ name: `f${i}`, label: 'F' })) },
      'request_fields',
    ],
    ['a field name with a space', { request_fields: [{ name: 'my field', label: 'F' }] }, 'request_fields.0.name'],
    ['a field without label', { request_fields: [{ name: 'f' }] }, 'request_fields.0.label'],
    ['a blank label', { request_fields: [{ name: 'f', label: '   ' }] }, 'request_fields.0.label'],
    [
      'a duplicate name',
      {
        request_fields: [
          { name: 'f', label: 'A' },
          { name: 'F', label: 'B' },
        ],
      },
      'request_fields.1.name',
    ],
    [
      'a max length too large',
      { request_fields: [{ name: 'f', label: 'A', max_length: 100_000 }] },
      'request_fields.0.max_length',
    ],
    ['an unknown approval', { approval: 'sometimes' }, 'approval'],
  ])('refuses %s, naming the field, changing nothing', async (_what, patch, field) => {
    const owner = await signUp(t.app, 'Owner');
    const s = await approvalSetup(owner);
    const before = await snapshot(t.app);
    const res = await owner.patch(`/api/projects/${s.projectId}/api-key-templates/${s.templateId}`, patch);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    expect(await snapshot(t.app)).toEqual(before);
    const created = await owner.post(`/api/projects/${s.projectId}/api-key-templates`, {
      name: `Other ${field}`,
      role_id: s.roleId,
      ...patch,
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().error.field).toBe(field);
    expect(await snapshot(t.app)).toEqual(before);
  });
});

describe('a request against terms and fields', () => {
  it.each([
    ['terms not accepted', { fields: { organisation: 'ACME' } }, 'accept_terms'],
    ['terms declined', { accept_terms: false, fields: { organisation: 'ACME' } }, 'accept_terms'],
    ['the required field missing', { accept_terms: true }, 'fields.organisation'],
    ['the required field blank', { accept_terms: true, fields: { organisation: '   ' } }, 'fields.organisation'],
    ['a field too long', { accept_terms: true, fields: { organisation: 'A'.repeat(21) } }, 'fields.organisation'],
    ['an unknown field', { accept_terms: true, fields: { organisation: 'ACME', colour: 'red' } }, 'fields.colour'],
    [
      'a value over the absolute bound',
      { accept_terms: true, fields: { organisation: 'A'.repeat(5001) } },
      'fields.organisation',
    ],
    ['accept_terms not a boolean', { accept_terms: 'yes', fields: { organisation: 'ACME' } }, 'accept_terms'],
  ])('%s: 400 naming %s (third arg), nothing created', async (_what, body, field) => {
    const owner = await signUp(t.app, 'Owner');
    const requester = await signUp(t.app, 'Requester');
    const s = await approvalSetup(owner, { terms: TERMS, request_fields: FIELDS, approval: 'auto' });
    const before = await snapshot(t.app);
    const outboxBefore = await t.app.ctx.k.selectFrom('outbox').select('id').execute();
    const res = await requester.post(s.requestUrl, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    expect(await snapshot(t.app)).toEqual(before);
    expect(await t.app.ctx.k.selectFrom('outbox').select('id').execute()).toHaveLength(outboxBefore.length);
  });

  it('a good request keeps the values and the terms hash; managers see them in the list and the notice', async () => {
    const owner = await signUp(t.app, 'Owner');
    const requester = await signUp(t.app, 'Requester');
    const s = await approvalSetup(owner, { terms: TERMS, request_fields: FIELDS });
    const offer = (await requester.get(`/api/projects/${s.projectId}/api-key-offers`)).json()[0];
    expect(offer.terms).toBe(TERMS);
    expect(offer.request_fields.map((f: { name: string }) => f.name)).toEqual(['organisation', 'use']);

    const res = await requester.post(s.requestUrl, {
      accept_terms: true,
      fields: { organisation: '  ACME Labs ', use: '' },
    });
    expect(res.statusCode).toBe(201);
    const hash = createHash('sha256').update(TERMS).digest('hex');
    expect(res.json()).toMatchObject({
      status: 'pending',
      fields: { organisation: 'ACME Labs' },
      terms_accepted: true,
      terms_hash: hash,
    });
    const list = (await owner.get(`/api/projects/${s.projectId}/api-key-requests`)).json();
    expect(list.items[0]).toMatchObject({
      id: res.json().id,
      fields: { organisation: 'ACME Labs' },
      terms_accepted: true,
      terms_hash: hash,
      user: { id: requester.user.id },
    });
    const notice = await t.app.ctx.k
      .selectFrom('notifications')
      .select('body')
      .where('user_id', '=', owner.user.id)
      .where('kind', '=', 'key_request.created')
      .executeTakeFirstOrThrow();
    expect(notice.body).toContain('Organisation: "ACME Labs"');
    expect(notice.body).toContain('The terms were accepted.');
    // the UI words the notice from its params: the values and the acceptance travel with them
    const inbox = (await owner.get('/api/me/notifications')).json();
    expect(inbox.items.find((n: { kind: string }) => n.kind === 'key_request.created').params).toMatchObject({
      template: expect.any(String),
      fields: 'Organisation: "ACME Labs"',
      terms_accepted: 1,
    });
  });

  it('a template without terms or fields takes an empty body, no body, or {accept_terms: true}', async () => {
    const owner = await signUp(t.app, 'Owner');
    const s = await approvalSetup(owner);
    const a = await signUp(t.app, 'A');
    const r = await t.app.inject({
      method: 'POST',
      url: s.requestUrl,
      headers: { cookie: `keyport_session=${a.cookie}`, 'x-csrf-token': a.csrf },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ terms_accepted: false, terms_hash: null, fields: {} });
    const b = await signUp(t.app, 'B');
    expect((await b.post(s.requestUrl, { accept_terms: true })).json().terms_hash).toBeNull();
    // a field the template does not ask for is still refused
    const c = await signUp(t.app, 'C');
    expect((await c.post(s.requestUrl, { fields: { x: '1' } })).json().error.field).toBe('fields.x');
  });
});
