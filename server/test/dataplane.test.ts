// Data plane with signed-in users: layers, packages, master_id, search, objects,
// signed URLs. Key holders are covered in dataplane-keys.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant, pathOf, personalLayer, raw, sha, upload } from './dataplane-helpers.js';
import { MutableClock, makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';

let t: TestApp;
let clock: MutableClock;
let owner: UserSession;
let worker: UserSession;
let stranger: UserSession;
let P: { projectId: number; input: number; compute: number; output: number };
let main: number;
const MAX = 4096;

beforeAll(async () => {
  clock = new MutableClock(Date.now());
  t = await makeTestApp({ clock, env: { KEYPORT_MAX_OBJECT_BYTES: String(MAX) } });
  owner = await signUp(t.app, 'Owner');
  worker = await signUp(t.app, 'Worker');
  stranger = await signUp(t.app, 'Stranger');
  P = await makeProject(owner, 'Data');
  // a worker: reads the input node, writes the output node, nothing else
  await grant(owner, P.projectId, worker, {
    project: ['project_view'],
    nodes: { [P.input]: ['package_view'], [P.output]: ['package_create', 'package_view'] },
  });
  const layers = (await owner.get(`/api/projects/${P.projectId}/data_layers`)).json();
  main = layers[0].id;
});
afterAll(() => t.close());

const base = () => `/api/projects/${P.projectId}`;

describe('data layers', () => {
  it('the project has a shared "main" layer, which is everyone\'s last layer', async () => {
    const list = await owner.get(`${base()}/data_layers`);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual([expect.objectContaining({ id: main, name: 'main', kind: 'shared', user_id: null })]);
    const last = await worker.get(`${base()}/data_layers/last`);
    expect(last.statusCode).toBe(200);
    expect(last.json().id).toBe(main);
    expect((await stranger.get(`${base()}/data_layers`)).statusCode).toBe(404);
    expect((await stranger.get(`${base()}/data_layers/last`)).statusCode).toBe(404);
  });

  it('personal layers are visible to their user and to managers only', async () => {
    const a = await signUp(t.app, 'HolderA');
    const b = await signUp(t.app, 'HolderB');
    const Q = await makeProject(owner, 'Layers');
    const perms = { project: ['project_view', 'package_view', 'package_create'] };
    await grant(owner, Q.projectId, a, perms, 'ra');
    await grant(owner, Q.projectId, b, perms, 'rb');
    const la = await personalLayer(t.app, Q.projectId, a.user.id);
    const lb = await personalLayer(t.app, Q.projectId, b.user.id);
    const ids = async (s: UserSession) =>
      ((await s.get(`/api/projects/${Q.projectId}/data_layers`)).json() as { id: number }[]).map((l) => l.id);
    expect(await ids(a)).not.toContain(lb);
    expect(await ids(a)).toContain(la);
    expect(await ids(b)).not.toContain(la);
    expect(await ids(owner)).toEqual(expect.arrayContaining([la, lb]));
    expect((await a.get(`/api/projects/${Q.projectId}/data_layers/last`)).json().id).toBe(la);
    // the manager's "last" is never somebody else's personal layer
    expect((await owner.get(`/api/projects/${Q.projectId}/data_layers/last`)).json().kind).toBe('shared');
    expect((await a.get(`/api/projects/${Q.projectId}/data_layers/${lb}`)).statusCode).toBe(404);

    // a package in A's layer is invisible to B, by search, get and files
    const pa = await a.post(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages?data_layer_id=${la}`, {
      label: 'mine',
    });
    expect(pa.statusCode).toBe(200);
    const id = pa.json().id;
    expect((await b.get(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages/${id}`)).statusCode).toBe(404);
    expect((await b.get(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages/${id}/files`)).statusCode).toBe(404);
    expect(
      (await b.post(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages/search?data_layer_id=${la}`, {}))
        .statusCode,
    ).toBe(404);
    expect(
      (await b.post(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages?data_layer_id=${la}`, {})).statusCode,
    ).toBe(404);
    // B cannot hang a child onto A's package from their own layer either
    const child = await b.post(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages?data_layer_id=${lb}`, {
      parent_ids: [id],
    });
    expect(child.statusCode).toBe(400);
    expect(child.json().error.code).toBe('INVALID_REFERENCE');
    // the manager sees it
    expect((await owner.get(`/api/projects/${Q.projectId}/nodes/${Q.input}/packages/${id}`)).statusCode).toBe(200);
  });
});

describe('packages', () => {
  it('creates with 200, fields as [{name, value}], master = itself; ids may be strings', async () => {
    const res = await owner.post(`${base()}/nodes/${String(P.input)}/packages?data_layer_id=${String(main)}`, {
      label: 'first',
      fields: { a: 1, b: 'two', c: { nested: [1, 2] } },
    });
    expect(res.statusCode).toBe(200);
    const p = res.json();
    expect(p).toMatchObject({ label: 'first', master_id: p.id, data_layer_id: main, node_id: P.input, parent_ids: [] });
    expect(p.fields).toEqual([
      { name: 'a', value: 1 },
      { name: 'b', value: 'two' },
      { name: 'c', value: { nested: [1, 2] } },
    ]);
    expect(typeof p.created_at).toBe('string');
    const got = await owner.get(`${base()}/nodes/${P.input}/packages/${p.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id: p.id, fields: p.fields, files: [] });
  });

  it('takes data_layer_id from the body (older job code), ignores unknown properties (felds)', async () => {
    const res = await owner.post(`${base()}/nodes/${P.input}/packages`, {
      label: 'x',
      felds: { a: 1 },
      data_layer_id: main,
      extra: true,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ label: 'x', fields: [], data_layer_id: main });
    const asString = await owner.post(`${base()}/nodes/${P.input}/packages`, { data_layer_id: String(main) });
    expect(asString.statusCode).toBe(200);
    const conflict = await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, {
      data_layer_id: main + 1000,
    });
    expect(conflict.statusCode).toBe(400);
    // no layer at all: the caller's last layer
    expect((await owner.post(`${base()}/nodes/${P.input}/packages`, {})).json().data_layer_id).toBe(main);
  });

  it('refuses wrong types with 400 and changes nothing', async () => {
    const before = await snapshot(t.app);
    const url = `${base()}/nodes/${P.input}/packages?data_layer_id=${main}`;
    for (const body of [
      { fields: 'x' },
      { fields: [1, 2] },
      { label: 5 },
      { parent_ids: 'x' },
      { parent_ids: ['abc'] },
      { files: [{ name: 'a' }] },
      { files: [{ name: 'a', content_hash: 'nothex' }] },
      { data_layer_id: 'abc' },
    ]) {
      const res = await owner.post(url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
    const notJson = await t.app.inject({
      method: 'POST',
      url,
      headers: {
        cookie: `keyport_session=${owner.cookie}`,
        'x-csrf-token': owner.csrf,
        'content-type': 'application/json',
      },
      payload: '[1,',
    });
    expect(notJson.statusCode).toBe(400);
    expect((await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=abc`, {})).statusCode).toBe(400);
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('inherits the master of the first parent; parents must be in the same project and layer', async () => {
    const root = (
      await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, { label: 'root' })
    ).json();
    const mid = await worker.post(`${base()}/nodes/${P.output}/packages?data_layer_id=${main}`, {
      parent_ids: [root.id],
    });
    expect(mid.statusCode).toBe(200);
    expect(mid.json()).toMatchObject({ master_id: root.id, parent_ids: [root.id] });
    const other = (await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, {})).json();
    const leaf = await worker.post(`${base()}/nodes/${P.output}/packages?data_layer_id=${main}`, {
      parent_ids: [String(mid.json().id), other.id],
    });
    expect(leaf.json()).toMatchObject({ master_id: root.id, parent_ids: [mid.json().id, other.id] });

    const missing = await worker.post(`${base()}/nodes/${P.output}/packages?data_layer_id=${main}`, {
      parent_ids: [999999],
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.code).toBe('INVALID_REFERENCE');
    const foreign = await makeProject(owner, 'Foreign');
    const fp = (await owner.post(`/api/projects/${foreign.projectId}/nodes/${foreign.input}/packages`, {})).json();
    const cross = await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, {
      parent_ids: [fp.id],
    });
    expect(cross.statusCode).toBe(400);
    expect(cross.json().error.code).toBe('INVALID_REFERENCE');
  });

  it('searches by master_id, label and after_id with paging; page_size is capped at 100', async () => {
    const Q = await makeProject(owner, 'Search');
    const q = `/api/projects/${Q.projectId}`;
    const layer = (await owner.get(`${q}/data_layers/last`)).json().id;
    const roots: number[] = [];
    for (let i = 0; i < 3; i++)
      roots.push((await owner.post(`${q}/nodes/${Q.input}/packages`, { label: `in${i}` })).json().id);
    for (let i = 0; i < 105; i++) {
      const r = await owner.post(`${q}/nodes/${Q.output}/packages?data_layer_id=${layer}`, {
        label: i % 2 ? 'odd' : 'even',
        fields: { i },
        parent_ids: [roots[i % 3]],
      });
      expect(r.statusCode).toBe(200);
    }
    const search = (qs: string, body: Record<string, unknown>) =>
      owner.post(`${q}/nodes/${Q.output}/packages/search?data_layer_id=${layer}${qs}`, body);

    const byMaster = await search('&page=1&page_size=1', { master_id: roots[1] });
    expect(byMaster.statusCode).toBe(200);
    expect(byMaster.json().total).toBe(35);
    expect(byMaster.json().items).toHaveLength(1);
    const item = byMaster.json().items[0];
    expect(item).toMatchObject({ master_id: roots[1], parent_ids: [roots[1]], fields: [{ name: 'i', value: 1 }] });
    expect(Object.keys(item)).toEqual(
      expect.arrayContaining(['id', 'label', 'master_id', 'parent_ids', 'created_at', 'fields']),
    );

    const page2 = await search('&page=2&page_size=10', { master_id: String(roots[1]) });
    expect(page2.json().total).toBe(35);
    expect(page2.json().items.map((x: { fields: { value: number }[] }) => x.fields[0]?.value)).toEqual([
      31, 34, 37, 40, 43, 46, 49, 52, 55, 58,
    ]);
    const beyond = await search('&page=100&page_size=10', { master_id: roots[1] });
    expect(beyond.json()).toEqual({ total: 35, items: [] });

    const capped = await search('&page_size=1000000', {});
    expect(capped.statusCode).toBe(200);
    expect(capped.json().total).toBe(105);
    expect(capped.json().items).toHaveLength(100);

    const odd = await search('&page_size=100', { label: 'odd' });
    expect(odd.json().total).toBe(52);
    const items = capped.json().items as { id: number }[];
    const after = await search('&page_size=100', { after_id: items[99]?.id });
    expect(after.json().total).toBe(5);
    expect(after.json().items.every((x: { id: number }) => x.id > (items[99]?.id ?? 0))).toBe(true);
    // the data_layer_id may be in the body; default paging is 10
    const inBody = await owner.post(`${q}/nodes/${Q.output}/packages/search`, {
      data_layer_id: layer,
      master_id: roots[0],
    });
    expect(inBody.json().items).toHaveLength(10);
    // an empty body works too (Python always sends one, curl users may not)
    const noBody = await t.app.inject({
      method: 'POST',
      url: `${q}/nodes/${Q.output}/packages/search?page_size=5`,
      headers: { cookie: `keyport_session=${owner.cookie}`, 'x-csrf-token': owner.csrf },
    });
    expect(noBody.statusCode).toBe(200);
    expect(noBody.json().items).toHaveLength(5);
    expect((await search('&page_size=0', {})).statusCode).toBe(400);
    expect((await search('', { master_id: 'x' })).statusCode).toBe(400);
  });

  it('checks permissions per node, node membership in the project, and project visibility', async () => {
    const input = `${base()}/nodes/${P.input}/packages`;
    const output = `${base()}/nodes/${P.output}/packages`;
    // worker: package_view on input, package_create + view on output
    const denied = await worker.post(`${input}?data_layer_id=${main}`, { label: 'nope' });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('FORBIDDEN');
    expect((await worker.post(`${input}/search`, {})).statusCode).toBe(200);
    expect((await worker.post(`${base()}/nodes/${P.compute}/packages/search`, {})).statusCode).toBe(403);
    expect((await worker.post(`${output}?data_layer_id=${main}`, {})).statusCode).toBe(200);
    expect((await stranger.post(`${input}/search`, {})).statusCode).toBe(404);
    expect((await stranger.post(`${input}?data_layer_id=${main}`, {})).statusCode).toBe(404);
    // a node of another project, seen from this one (owner has project-level package_*)
    const foreign = await makeProject(stranger, 'Theirs');
    const res = await owner.post(`${base()}/nodes/${foreign.input}/packages?data_layer_id=${main}`, {});
    expect(res.statusCode).toBe(404);
    expect((await owner.post(`${base()}/nodes/${foreign.input}/packages/search`, {})).statusCode).toBe(404);
    // a layer of another project
    const theirLayer = (await stranger.get(`/api/projects/${foreign.projectId}/data_layers/last`)).json().id;
    expect((await owner.post(`${input}?data_layer_id=${theirLayer}`, {})).statusCode).toBe(404);
    // a package id of another node answers 404
    const pkg = (await owner.post(`${input}?data_layer_id=${main}`, {})).json();
    expect((await owner.get(`${output}/${pkg.id}`)).statusCode).toBe(404);
    expect((await owner.get(`${input}/999999`)).statusCode).toBe(404);
  });
});

describe('objects and files', () => {
  it('uploads through a signed URL (any Content-Type), dedups, lists files with signed download URLs', async () => {
    const bytes = Buffer.from('{"looks": "like json but is a file"}');
    const hash = sha(bytes);
    const first = await worker.put(`${base()}/objects/${hash}`, undefined);
    expect(first.statusCode).toBe(200);
    const link = first.json();
    // on the configured origin (KEYPORT_PUBLIC_URL, default http://localhost:<PORT>), bound to a layer
    expect(link.startsWith(`${t.app.ctx.config.publicUrl}/api/objects/`)).toBe(true);
    expect(link).toMatch(/\/api\/objects\/[0-9a-f]{64}\?project=\d+&layer=\d+&exp=\d+&sig=[\w-]+$/);
    const up = await raw(t.app, 'PUT', link, bytes, 'application/json');
    expect(up.statusCode).toBe(200);
    expect(up.json()).toEqual({ content_hash: hash, size: bytes.length });
    // now it exists: null (the client then skips the raw PUT)
    const again = await worker.put(`${base()}/objects/${hash.toUpperCase()}`, undefined);
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe('null');
    // uploading the same bytes twice is harmless
    expect((await raw(t.app, 'PUT', link, bytes, 'text/plain')).statusCode).toBe(200);

    const pkg = await worker.post(`${base()}/nodes/${P.output}/packages?data_layer_id=${main}`, {
      label: 'with file',
      files: [
        {
          name: 'result.json',
          content_hash: hash,
          type: 'application/json',
          is_executable: false,
          is_binary: false,
          size: 1,
        },
      ],
    });
    expect(pkg.statusCode).toBe(200);
    expect(pkg.json().files).toEqual([
      {
        name: 'result.json',
        content_hash: hash,
        size: bytes.length,
        type: 'application/json',
        is_executable: false,
        is_binary: false,
      },
    ]);
    const files = await worker.get(`${base()}/nodes/${P.output}/packages/${pkg.json().id}/files`);
    expect(files.statusCode).toBe(200);
    const [f] = files.json();
    expect(f).toMatchObject({
      name: 'result.json',
      content_hash: hash,
      size: bytes.length,
      is_executable: false,
      is_binary: false,
    });
    expect(f.content.startsWith(`${t.app.ctx.config.publicUrl}/api/objects/`)).toBe(true);
    const down = await raw(t.app, 'GET', f.content);
    expect(down.statusCode).toBe(200);
    expect(down.headers['content-type']).toBe('application/octet-stream');
    expect(sha(down.rawPayload)).toBe(hash);
    // the download link is not an upload link
    expect((await raw(t.app, 'PUT', f.content, bytes)).statusCode).toBe(403);
    // the download needs no session, and ignores one
    expect((await t.app.inject({ method: 'GET', url: pathOf(f.content) })).statusCode).toBe(200);
  });

  it('refuses a hash mismatch (400, nothing stored), tampered or expired links (403), big objects (413)', async () => {
    const bytes = Buffer.from('the real bytes');
    const hash = sha(bytes);
    const link = (await owner.put(`${base()}/objects/${hash}`, undefined)).json() as string;
    const before = await snapshot(t.app);
    const bad = await raw(t.app, 'PUT', link, Buffer.from('other bytes'));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('HASH_MISMATCH');
    expect(await snapshot(t.app)).toEqual(before);

    const u = new URL(link);
    const sig = u.searchParams.get('sig') as string;
    const tamper = (k: string, v: string) => {
      const x = new URL(link);
      x.searchParams.set(k, v);
      return x.toString();
    };
    for (const l of [
      tamper('sig', `${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`),
      tamper('exp', String(Number(u.searchParams.get('exp')) + 3600)),
      tamper('project', String(P.projectId + 1)),
      link.replace(hash, sha('x')),
      `${u.origin}${u.pathname}`,
    ]) {
      const res = await raw(t.app, 'PUT', l, bytes);
      expect(res.statusCode, l).toBe(403);
      expect(res.json().error.code).toBe('INVALID_SIGNATURE');
    }
    expect(await snapshot(t.app)).toEqual(before);

    clock.advance((t.app.ctx.config.signedUrlTtlSeconds + 5) * 1000);
    const expired = await raw(t.app, 'PUT', link, bytes);
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error.code).toBe('INVALID_SIGNATURE');
    clock.advance(-(t.app.ctx.config.signedUrlTtlSeconds + 5) * 1000);
    expect((await raw(t.app, 'PUT', link, bytes)).statusCode).toBe(200);

    const big = Buffer.alloc(MAX + 1, 7);
    const bigLink = (await owner.put(`${base()}/objects/${sha(big)}`, undefined)).json() as string;
    const tooBig = await raw(t.app, 'PUT', bigLink, big);
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const exact = Buffer.alloc(MAX, 7);
    const exactLink = (await owner.put(`${base()}/objects/${sha(exact)}`, undefined)).json() as string;
    expect((await raw(t.app, 'PUT', exactLink, exact)).statusCode).toBe(200);

    // expired download links
    const ref = await upload(t.app, (url) => owner.put(url, undefined), P.projectId, Buffer.from('dl'), 'dl.txt');
    const pkg = (await owner.post(`${base()}/nodes/${P.output}/packages`, { files: [ref] })).json();
    const [f] = (await owner.get(`${base()}/nodes/${P.output}/packages/${pkg.id}/files`)).json();
    expect((await raw(t.app, 'GET', f.content)).statusCode).toBe(200);
    clock.advance((t.app.ctx.config.signedUrlTtlSeconds + 5) * 1000);
    expect((await raw(t.app, 'GET', f.content)).statusCode).toBe(403);
    clock.advance(-(t.app.ctx.config.signedUrlTtlSeconds + 5) * 1000);
  });

  it('raw transfers ignore cookies and Authorization headers: the signature is the credential', async () => {
    const bytes = Buffer.from('uploaded from a browser tab');
    const link = (await owner.put(`${base()}/objects/${sha(bytes)}`, undefined)).json() as string;
    // a signed-in browser sends its cookie but no CSRF token; a careless client a stale bearer
    const res = await t.app.inject({
      method: 'PUT',
      url: pathOf(link),
      headers: {
        cookie: `keyport_session=${owner.cookie}`,
        authorization: 'Bearer stale',
        'content-type': 'text/plain',
      },
      payload: bytes,
    });
    expect(res.statusCode).toBe(200);
    const noSig = await t.app.inject({
      method: 'PUT',
      url: new URL(link).pathname,
      headers: { cookie: `keyport_session=${owner.cookie}`, 'x-csrf-token': owner.csrf, 'content-type': 'text/plain' },
      payload: bytes,
    });
    expect(noSig.statusCode).toBe(403);
  });

  it('an empty file works', async () => {
    const ref = await upload(t.app, (url) => owner.put(url, undefined), P.projectId, Buffer.alloc(0), 'empty');
    const pkg = await owner.post(`${base()}/nodes/${P.output}/packages`, { files: [ref] });
    expect(pkg.statusCode).toBe(200);
    const [f] = (await owner.get(`${base()}/nodes/${P.output}/packages/${pkg.json().id}/files`)).json();
    const down = await raw(t.app, 'GET', f.content);
    expect(down.statusCode).toBe(200);
    expect(down.rawPayload.length).toBe(0);
  });

  it('knowing a hash is not enough: objects belong to the projects that uploaded them', async () => {
    const secret = Buffer.from('owner-only contents');
    await upload(t.app, (url) => owner.put(url, undefined), P.projectId, secret, 'secret.txt');
    const theirs = await makeProject(stranger, 'Elsewhere');
    const tb = `/api/projects/${theirs.projectId}`;
    const ref = { name: 'stolen.txt', content_hash: sha(secret) };
    const steal = await stranger.post(`${tb}/nodes/${theirs.input}/packages`, { files: [ref] });
    expect(steal.statusCode).toBe(400);
    expect(steal.json().error.code).toBe('INVALID_REFERENCE');
    // and the existence is not revealed: they get an upload link, not null
    const probe = await stranger.put(`${tb}/objects/${sha(secret)}`, undefined);
    expect(typeof probe.json()).toBe('string');
    // uploading the bytes proves possession; then it works (stored once)
    const objectsBefore = (await snapshot(t.app)).objects;
    await upload(t.app, (url) => stranger.put(url, undefined), theirs.projectId, secret, 'mine.txt');
    expect((await snapshot(t.app)).objects).toBe(objectsBefore);
    expect((await stranger.post(`${tb}/nodes/${theirs.input}/packages`, { files: [ref] })).statusCode).toBe(200);
  });

  it('rejects unsafe file names and unknown objects', async () => {
    const ref = await upload(t.app, (url) => owner.put(url, undefined), P.projectId, Buffer.from('n'), 'n');
    for (const name of ['../evil', '/etc/passwd', 'a\\b', 'a//b', 'dir/../x', '.']) {
      const res = await owner.post(`${base()}/nodes/${P.output}/packages`, { files: [{ ...ref, name }] });
      expect(res.statusCode, name).toBe(400);
    }
    expect(
      (await owner.post(`${base()}/nodes/${P.output}/packages`, { files: [{ ...ref, name: 'dir/ok.txt' }] }))
        .statusCode,
    ).toBe(200);
    const unknown = await owner.post(`${base()}/nodes/${P.output}/packages`, {
      files: [{ name: 'x', content_hash: sha('never uploaded') }],
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('INVALID_REFERENCE');
  });

  it('uploading needs package_create somewhere in the project', async () => {
    const viewer = await signUp(t.app, 'Viewer');
    await grant(owner, P.projectId, viewer, { project: ['project_view', 'package_view'] });
    const res = await viewer.put(`${base()}/objects/${sha('v')}`, undefined);
    expect(res.statusCode).toBe(403);
    expect((await worker.put(`${base()}/objects/${sha('v')}`, undefined)).statusCode).toBe(200);
    expect((await stranger.put(`${base()}/objects/${sha('v')}`, undefined)).statusCode).toBe(404);
  });
});
