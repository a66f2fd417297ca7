// The typed contract: every operation in the OpenAPI document declares its success answer and its
// error answers (the one ErrorResponse schema), so the UI and the client can take their types from it.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, signUp, type TestApp } from './helpers.js';

let t: TestApp;
let doc: {
  paths: Record<
    string,
    Record<
      string,
      {
        responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
        parameters?: { name: string; in: string; required?: boolean; schema?: { default?: unknown } }[];
        requestBody?: {
          required?: boolean;
          content?: Record<string, { schema?: { type?: string; required?: string[] } }>;
        };
      }
    >
  >;
  components?: { schemas?: Record<string, unknown> };
};

beforeAll(async () => {
  t = await makeTestApp();
  doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
});
afterAll(() => t.close());

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Raw object transfers answer bytes (a signed URL's download, 200/206), not JSON: no JSON schema to give. */
const BYTE_STREAMS = new Set(['GET /api/objects/{sha256}']);

describe('OpenAPI document', () => {
  it('documents a success and an error answer for every operation', () => {
    const ops: string[] = [];
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        ops.push(`${method.toUpperCase()} ${path}`);
        const responses = op.responses ?? {};
        const success =
          BYTE_STREAMS.has(`${method.toUpperCase()} ${path}`) ||
          Object.entries(responses).some(
            ([code, r]) =>
              /^2/.test(code) &&
              (code === '204' ||
                r.content?.['application/json']?.schema !== undefined ||
                r.content?.['text/csv']?.schema !== undefined),
          );
        const error = Object.entries(responses).some(
          ([code, r]) =>
            /^[45]/.test(code) &&
            JSON.stringify(r.content?.['application/json']?.schema ?? {}).includes(
              '#/components/schemas/ErrorResponse',
            ),
        );
        if (!success || !error)
          missing.push(`${method.toUpperCase()} ${path}${success ? '' : ' (no success)'}${error ? '' : ' (no error)'}`);
      }
    }
    expect(doc.components?.schemas?.ErrorResponse).toBeDefined();
    expect(ops.length).toBeGreaterThan(60);
    expect(missing, `${missing.length} of ${ops.length} operations undocumented`).toEqual([]);
  });
});

describe('generated contract', () => {
  it('the types checked in for the web UI and the client are generated from this document', async () => {
    const { CONTRACT_FILES, contractTypes } = await import('../scripts/contract.js');
    const fresh = await contractTypes(doc as unknown as Record<string, unknown>);
    for (const file of CONTRACT_FILES) {
      expect(fs.readFileSync(file, 'utf8') === fresh, `${file} is out of date: run npm run contract`).toBe(true);
    }
  });

  it('asks only for what a caller must send: defaulted parameters and all-optional bodies are optional', async () => {
    const overclaimed: string[] = [];
    let relaxed = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        for (const p of op.parameters ?? []) {
          if (p.in !== 'query' || p.schema?.default === undefined) continue;
          relaxed += 1;
          if (p.required) overclaimed.push(`${method} ${path} ?${p.name}`);
        }
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema?.type === 'object' && !schema.required?.length && op.requestBody?.required) {
          overclaimed.push(`${method} ${path} body`);
        }
      }
    }
    expect(relaxed).toBeGreaterThan(10);
    expect(overclaimed).toEqual([]);
    // and the server agrees: a list without its paging parameters, a roll without a body
    const user = await signUp(t.app, 'Caller');
    const list = await user.get('/api/me/notifications');
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({ total: 0, items: [] });
    const roll = await user.req('POST', '/api/me/api-keys/999999/roll');
    expect(roll.json().error.code).toBe('NOT_FOUND'); // past validation: the key just is not there
  });
});
