// Keyport data-plane client: the TypeScript counterpart of the Python `rndflow.server.ServerProxy`.
// Same routes, same wire format: `<server>/api/...`, `Authorization: Bearer <key>`,
// JSON bodies, raw transfers of file bytes through signed URLs without any auth header.
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ApiPath, Body, Item, Ok, QueryWith, VarName } from './contract-types.js';

/** An id as given: a number, or digits (values read from secrets are strings). */
export type Id = number | string;

// The shapes below are the server's contract (./contract.ts), looked up by route.

/** A package as created or fetched by id: with its files' metadata. */
export type Package = Ok<'/projects/{p}/nodes/{n}/packages/{id}', 'get'>;
/** A page of search results: `{total, items}`, the items without files. */
export type SearchResult = Ok<'/projects/{p}/nodes/{n}/packages/search', 'post'>;
/** A package as a search lists it (no `files`). */
export type PackageSummary = Item<SearchResult>;
/** A package, with `files` when the answer carries them (createPackage, getPackage; not search). */
export type PackageInfo = PackageSummary & Partial<Pick<Package, 'files'>>;
/** A file as a package references it (what `uploadProjectFile` returns). */
export type FileRef = Package['files'][number];
/** A file as `getFilesList` returns it: `content` is a signed, expiring download URL. */
export type RemoteFile = Item<Ok<'/projects/{p}/nodes/{n}/packages/{id}/files', 'get'>>;
/** A package field: `value` is whatever JSON the package was created with. */
export type Field = PackageSummary['fields'][number];
export type DataLayer = Item<Ok<'/projects/{p}/data_layers', 'get'>>;
/** What a package is posted with; its layer is the call's `layer` argument. */
export type NewPackage = Omit<Body<'/projects/{p}/nodes/{n}/packages', 'post'>, 'data_layer_id'>;
/** What a search filters by; its layer is the call's `layer` argument. */
export type SearchFilter = Omit<Body<'/projects/{p}/nodes/{n}/packages/search', 'post'>, 'data_layer_id'>;
/** The runner view of a node: {NAME: value} of the secrets granted to it. */
export type NodeSecrets = Ok<'/projects/{p}/nodes/{n}/secrets', 'get'>;

export interface WaitOptions {
  /** give up after this long (default 5 minutes, like ServerProxy.waitResult) */
  timeoutMs?: number;
  /** pause between polls (default 5 s, like ServerProxy's retry_pause) */
  intervalMs?: number;
  page?: number;
  pageSize?: number;
  signal?: AbortSignal;
}

export interface ClientOptions {
  /** Server base URL without `/api`, e.g. `https://keyport.example.com`. */
  server: string;
  /** An API key (JWT). */
  token?: string;
  /** Or a session: the `keyport_session` cookie value (and the CSRF token for changes). */
  cookie?: string;
  csrfToken?: string;
  project: Id;
  /** Node that receives packages (postPackage). */
  input?: Id;
  /** Node that holds results (searchByMaster, getFilesList). */
  output?: Id;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
  /** Retries on 502/503/504 and network errors (default 5, exponential backoff from 300 ms). */
  retries?: number;
  fetch?: typeof fetch;
}

export interface FromSecretsOptions {
  env?: Record<string, string | undefined>;
  /** Server URL; else the `<prefix>_server` secret, KEYPORT_SERVER, RNDFLOW_API_SERVER. */
  server?: string;
  /** Prefix the runner puts before secret names (default `RNDFLOW_SECRET_`, as `keyport run` does). */
  secretEnvPrefix?: string;
  timeoutMs?: number;
  retries?: number;
  fetch?: typeof fetch;
}

/** A non-2xx answer. `code` is the server's error code (e.g. FORBIDDEN, NOT_FOUND). */
export class KeyportError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'KeyportError';
  }
}

export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export const sha256hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** `[{name, value}]` → `{name: value}` (what job code does with result fields). */
export const fieldsToObject = (fields: Field[] | undefined): Record<string, unknown> =>
  Object.fromEntries((fields ?? []).map((f) => [f.name, f.value]));

const RETRY_STATUS = new Set([502, 503, 504]);
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The request never reached the server (safe to repeat even when it creates something). */
function notConnected(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } } | undefined)?.cause;
  return typeof cause?.code === 'string' && NOT_CONNECTED.has(cause.code);
}

/** Longest wait a Retry-After may impose on one retry. */
const MAX_RETRY_AFTER_MS = 30_000;

/**
 * A Retry-After header (delta-seconds or an HTTP date, RFC 9110 §10.2.3) as milliseconds, capped
 * at 30 s; null when absent or unusable. Keyport sends it with 503 (database or metering briefly
 * unavailable) and 429.
 */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    // an HTTP date ends in GMT; Date.parse alone would take "-1" or "1.5" for a date
    const at = /GMT$/.test(v) ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const MIME: Record<string, string> = {
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.html': 'text/html',
  '.md': 'text/markdown',
  '.xml': 'application/xml',
  '.py': 'text/x-python',
  '.js': 'text/javascript',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.h5': 'application/x-hdf5',
};

/** Like `binaryornot`: a NUL byte, or many non-text bytes, in the first 8 KB. */
export function looksBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 8192);
  if (head.length === 0) return false;
  let odd = 0;
  for (const b of head) {
    if (b === 0) return true;
    if (b < 7 || (b > 13 && b < 32)) odd++;
  }
  return odd / head.length > 0.3;
}

export class KeyportClient {
  readonly server: string;
  readonly project: string;
  readonly input: string | undefined;
  readonly output: string | undefined;
  private readonly token: string | undefined;
  private readonly cookie: string | undefined;
  private readonly csrfToken: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions) {
    if (!opts.server) throw new Error('KeyportClient: `server` is required');
    if (opts.project === undefined || opts.project === '') throw new Error('KeyportClient: `project` is required');
    if (!opts.token && !opts.cookie)
      throw new Error('KeyportClient: pass `token` (an API key) or `cookie` (a session)');
    this.server = opts.server.replace(/\/+$/, '').replace(/\/api$/, '');
    this.project = String(opts.project);
    this.input = opts.input === undefined ? undefined : String(opts.input);
    this.output = opts.output === undefined ? undefined : String(opts.output);
    this.token = opts.token;
    this.cookie = opts.cookie?.includes('=') ? opts.cookie : opts.cookie && `keyport_session=${opts.cookie}`;
    this.csrfToken = opts.csrfToken;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.retries = opts.retries ?? 5;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
  }

  /**
   * A client from the secrets a runner put into the environment. For prefix `svc` it reads the
   * secrets `svc_token`, `svc_project`, `svc_input`, `svc_output` (what "import a key" creates:
   * `<prefix>_token` plus `<prefix>_<info field>`), looking each up as, in this order:
   *   RNDFLOW_SECRET_svc_token, RNDFLOW_SECRET_SVC_TOKEN   (`keyport run`, default env prefix)
   *   svc_token, SVC_TOKEN                                 (plain names, as rndflow's secret() reads)
   * The server comes from `options.server`, the `svc_server` secret, KEYPORT_SERVER or RNDFLOW_API_SERVER.
   */
  static fromSecrets(prefix: string, options?: FromSecretsOptions): KeyportClient;
  static fromSecrets(
    env: Record<string, string | undefined>,
    prefix: string,
    options?: FromSecretsOptions,
  ): KeyportClient;
  static fromSecrets(
    a: string | Record<string, string | undefined>,
    b?: string | FromSecretsOptions,
    c?: FromSecretsOptions,
  ): KeyportClient {
    const [prefix, options] =
      typeof a === 'string' ? [a, (b as FromSecretsOptions | undefined) ?? {}] : [b as string, { ...c, env: a }];
    if (!prefix) throw new Error('fromSecrets: a prefix is required');
    const env = options.env ?? process.env;
    const sp = options.secretEnvPrefix ?? 'RNDFLOW_SECRET_';
    const tried: string[] = [];
    const secret = (field: string): string | undefined => {
      const name = `${prefix}_${field}`;
      for (const candidate of [...new Set([`${sp}${name}`, `${sp}${name.toUpperCase()}`, name, name.toUpperCase()])]) {
        tried.push(candidate);
        const v = env[candidate];
        if (v !== undefined && v !== '') return v.trim();
      }
      return undefined;
    };
    const need = (field: string): string => {
      tried.length = 0;
      const v = secret(field);
      if (v === undefined)
        throw new Error(`fromSecrets: secret "${prefix}_${field}" not found (looked for ${tried.join(', ')})`);
      return v;
    };
    const server = options.server ?? secret('server') ?? env.KEYPORT_SERVER ?? env.RNDFLOW_API_SERVER;
    if (!server)
      throw new Error('fromSecrets: no server URL (pass `server`, or set KEYPORT_SERVER or RNDFLOW_API_SERVER)');
    const input = secret('input');
    const output = secret('output');
    return new KeyportClient({
      server,
      token: need('token'),
      project: need('project'),
      ...(input !== undefined ? { input } : {}),
      ...(output !== undefined ? { output } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  // ---------------------------------------------------------------- HTTP

  private authHeaders(method: string): Record<string, string> {
    if (this.token) return { authorization: `Bearer ${this.token}` };
    const h: Record<string, string> = { cookie: this.cookie as string };
    if (method !== 'GET' && this.csrfToken) h['x-csrf-token'] = this.csrfToken;
    return h;
  }

  /**
   * fetch with a timeout and retries with exponential backoff (like ServerProxy's urllib3 adapter):
   * idempotent calls (GET, PUT, search) on 502/503/504 and network errors; creating POSTs only when
   * the connection could not be made at all, so a package is never created twice.
   */
  private async send(
    url: string,
    init: RequestInit,
    signal?: AbortSignal,
    idempotent = init.method !== 'POST',
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res: Response | undefined;
      let error: unknown;
      try {
        res = await this.fetchImpl(url, { ...init, signal: s });
      } catch (e) {
        if (signal?.aborted) throw e;
        error = e;
      }
      if (res && !(idempotent && RETRY_STATUS.has(res.status))) return res;
      if (!res && !idempotent && !notConnected(error)) throw error;
      if (attempt >= this.retries) {
        if (res) return res;
        throw error;
      }
      await res?.arrayBuffer().catch(() => undefined);
      // the server's Retry-After, when longer than our own backoff
      await sleep(Math.max(300 * 2 ** attempt, retryAfterMs(res?.headers.get('retry-after')) ?? 0), signal);
    }
  }

  /** One operation of the contract: `path` and its `{vars}` decide the query names, the body and the answer. */
  private async call<P extends ApiPath, M extends 'get' | 'post' | 'put'>(
    method: M,
    path: P,
    vars: Record<VarName<P>, Id>,
    opts: {
      query?: QueryWith<P, M, Id>;
      body?: Body<P, M>;
      signal?: AbortSignal;
      idempotent?: boolean;
    } = {},
  ): Promise<Ok<P, M>> {
    const verb = method.toUpperCase();
    const values = vars as Record<string, Id>;
    const resource = path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(values[k])));
    const url = new URL(`${this.server}/api${resource}`);
    for (const [k, v] of Object.entries<Id | undefined>(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeaders(verb) };
    const init: RequestInit = { method: verb, headers };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    const res = await this.send(url.toString(), init, opts.signal, opts.idempotent ?? verb !== 'POST');
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      throw new KeyportError(
        res.status,
        err?.code ?? `HTTP_${res.status}`,
        `${verb} ${url.pathname}: ${res.status} ${err?.message ?? String(text).slice(0, 200)}`,
        data,
      );
    }
    // the one place where the wire meets the contract
    return data as Ok<P, M>;
  }

  private node(which: 'input' | 'output', given?: Id): string {
    const n = given ?? this[which];
    if (n === undefined)
      throw new Error(`KeyportClient: no ${which} node (pass \`${which}\` to the constructor or the call)`);
    return String(n);
  }

  // ---------------------------------------------------------------- ServerProxy mirror

  /** GET /projects/:p/data_layers/last → id (a key holder: their personal layer). */
  async getLastDataLayer(): Promise<number> {
    return (await this.call('get', '/projects/{p}/data_layers/last', { p: this.project })).id;
  }

  /** The runner view: {NAME: value} of the secrets granted to a node (needs code_edit on it). */
  async getNodeSecrets(node: Id, opts: { signal?: AbortSignal } = {}): Promise<NodeSecrets> {
    // checked here, not trusted: a runner hands these to a job's environment
    const body: unknown = await this.call('get', '/projects/{p}/nodes/{n}/secrets', { p: this.project, n: node }, opts);
    if (
      !body ||
      typeof body !== 'object' ||
      Array.isArray(body) ||
      Object.values(body).some((v) => typeof v !== 'string')
    )
      throw new KeyportError(200, 'UNEXPECTED_ANSWER', 'the runner view is not a name -> value object', body);
    return body as NodeSecrets;
  }

  /** GET /projects/:p/data_layers → ids, like ServerProxy.getDataLayers. */
  async getDataLayers(): Promise<number[]> {
    return (await this.listDataLayers()).map((l) => l.id);
  }

  /** The layers with their names and kinds. */
  listDataLayers(): Promise<DataLayer[]> {
    return this.call('get', '/projects/{p}/data_layers', { p: this.project });
  }

  /** POST a package to the input node (or `node`) → the created package. */
  createPackage(layer: Id, pkg: NewPackage, node?: Id): Promise<Package> {
    return this.call(
      'post',
      '/projects/{p}/nodes/{n}/packages',
      { p: this.project, n: this.node('input', node) },
      { query: { data_layer_id: layer }, body: pkg },
    );
  }

  /** POST a package to the input node → its id (ServerProxy.postPackage(layer, package)). */
  async postPackage(layer: Id, pkg: NewPackage, node?: Id): Promise<number> {
    return (await this.createPackage(layer, pkg, node)).id;
  }

  /** ServerProxy.postPackage(layer, label, fields) — but sends `fields` spelled right. */
  createPackageAndPost(layer: Id, label: string, fields: Record<string, unknown> = {}): Promise<number> {
    return this.postPackage(layer, { label, fields });
  }

  /** POST …/packages/search on any node. */
  searchPackages(
    node: Id,
    layer: Id,
    filter: SearchFilter = {},
    page = 1,
    pageSize = 10,
    signal?: AbortSignal,
  ): Promise<SearchResult> {
    return this.call(
      'post',
      '/projects/{p}/nodes/{n}/packages/search',
      { p: this.project, n: node },
      {
        query: { data_layer_id: layer, page, page_size: pageSize },
        body: filter,
        idempotent: true,
        ...(signal ? { signal } : {}),
      },
    );
  }

  /** Results in the output node whose master is `master` (ServerProxy.searchByMaster). */
  searchByMaster(layer: Id, master: Id, page = 1, pageSize = 1, signal?: AbortSignal): Promise<SearchResult> {
    return this.searchPackages(this.node('output'), layer, { master_id: master }, page, pageSize, signal);
  }

  /** Polls searchByMaster until something is there (ServerProxy.waitResult); TimeoutError after timeoutMs. */
  async waitForResult(layer: Id, master: Id, opts: WaitOptions = {}): Promise<SearchResult> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5 * 60_000);
    const interval = opts.intervalMs ?? 5_000;
    for (;;) {
      const r = await this.searchByMaster(layer, master, opts.page ?? 1, opts.pageSize ?? 10, opts.signal);
      if (r.items.length > 0) return r;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`No result for master ${master} within ${opts.timeoutMs ?? 300_000} ms`);
      await sleep(Math.min(interval, left), opts.signal);
    }
  }

  /** The first result: id, fields as an object, and the package (ServerProxy.waitOneResult). */
  async waitOneResult(layer: Id, master: Id, opts: Omit<WaitOptions, 'page' | 'pageSize'> = {}) {
    const r = await this.waitForResult(layer, master, { ...opts, page: 1, pageSize: 1 });
    const pkg = r.items[0] as PackageSummary;
    return { id: pkg.id, fields: fieldsToObject(pkg.fields), package: pkg };
  }

  /** waitOneResult plus getFilesList (ServerProxy.waitOneResultAndFiles). */
  async waitOneResultAndFiles(layer: Id, master: Id, opts: Omit<WaitOptions, 'page' | 'pageSize'> = {}) {
    const one = await this.waitOneResult(layer, master, opts);
    return { ...one, files: await this.getFilesList(one.id) };
  }

  /** GET one package (with file metadata) from a node (default: output). */
  getPackage(id: Id, node?: Id): Promise<Package> {
    return this.call('get', '/projects/{p}/nodes/{n}/packages/{id}', {
      p: this.project,
      n: this.node('output', node),
      id,
    });
  }

  /** Files of a package in the output node (or `node`); `content` is a signed download URL. */
  getFilesList(id: Id, node?: Id): Promise<RemoteFile[]> {
    return this.call('get', '/projects/{p}/nodes/{n}/packages/{id}/files', {
      p: this.project,
      n: this.node('output', node),
      id,
    });
  }

  /** Raw GET of `file.content` (no auth header); the sha256 must equal `content_hash` (one retry). */
  async downloadBytes(
    file: Pick<RemoteFile, 'content' | 'content_hash' | 'name'>,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    for (let tries = 2; ; ) {
      const res = await this.send(file.content, { method: 'GET' }, signal);
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        throw new KeyportError(
          res.status,
          `HTTP_${res.status}`,
          `download ${file.name}: ${res.status} ${text.slice(0, 200)}`,
        );
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      if (sha256hex(bytes) === file.content_hash) return bytes;
      if (--tries <= 0) throw new Error(`${file.name}: wrong content checksum`);
    }
  }

  /**
   * Downloads a file to `folder/<file.name>` (or `path`), checks its sha256, makes it executable
   * when `is_executable`. Returns the path written. Refuses names that would leave the folder.
   */
  async download(file: RemoteFile, where: { folder?: string; path?: string } = {}): Promise<string> {
    let target: string;
    if (where.path) target = path.resolve(where.path);
    else {
      const folder = path.resolve(where.folder ?? '.');
      target = path.resolve(folder, file.name);
      if (!target.startsWith(folder + path.sep)) throw new Error(`download: refusing file name "${file.name}"`);
    }
    const bytes = await this.downloadBytes(file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    if (file.is_executable) await chmod(target, 0o770);
    return target;
  }

  /**
   * Makes bytes available to packages of one data layer: PUT /projects/:p/objects/:sha256, then a
   * raw PUT to the returned signed URL unless the layer already holds them. The layer is
   * `meta.layer`, else the caller's last layer (where a key holder's packages go). Returns the
   * file reference to put into a package's `files`.
   */
  async uploadBytes(
    bytes: Uint8Array | string,
    meta: { name: string; type?: string; isExecutable?: boolean; isBinary?: boolean; layer?: Id },
  ): Promise<FileRef> {
    const data =
      typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const hash = sha256hex(data);
    const binary = meta.isBinary ?? looksBinary(data);
    const type =
      meta.type ?? MIME[path.extname(meta.name).toLowerCase()] ?? (binary ? 'application/x-binary' : 'text/plain');
    // a signed URL for the raw PUT, or null when the layer already holds the bytes
    const link = await this.call(
      'put',
      '/projects/{p}/objects/{sha256}',
      { p: this.project, sha256: hash },
      { query: { data_layer_id: meta.layer } },
    );
    if (link !== null) {
      const res = await this.send(link, {
        method: 'PUT',
        body: data as unknown as BodyInit,
        headers: { 'content-type': type },
      });
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        let code = `HTTP_${res.status}`;
        try {
          code = (JSON.parse(text) as { error: { code: string } }).error.code;
        } catch {}
        throw new KeyportError(res.status, code, `upload ${meta.name}: ${res.status} ${text.slice(0, 200)}`);
      }
    }
    return {
      name: meta.name,
      content_hash: hash,
      type,
      is_executable: meta.isExecutable ?? false,
      is_binary: binary,
      size: data.length,
    };
  }

  /** Uploads a local file (ServerProxy.upload_project_file); name defaults to its base name. */
  async uploadProjectFile(filePath: string, name?: string): Promise<FileRef> {
    const data = await readFile(filePath);
    const executable = await access(filePath, fsConstants.X_OK).then(
      () => true,
      () => false,
    );
    return this.uploadBytes(data, { name: name ?? path.basename(filePath), isExecutable: executable });
  }

  // ---------------------------------------------------------------- names used in the issue text

  /** = getLastDataLayer */
  lastDataLayer(): Promise<number> {
    return this.getLastDataLayer();
  }
  /** = waitForResult, returning [items, total] like ServerProxy.waitResult */
  async waitResult(layer: Id, master: Id, opts: WaitOptions = {}): Promise<[PackageSummary[], number]> {
    const r = await this.waitForResult(layer, master, opts);
    return [r.items, r.total];
  }
  /** = getFilesList */
  filesOf(id: Id, node?: Id): Promise<RemoteFile[]> {
    return this.getFilesList(id, node);
  }
  /** = uploadProjectFile */
  uploadFile(filePath: string, name?: string): Promise<FileRef> {
    return this.uploadProjectFile(filePath, name);
  }
}

/** The Python name, for people porting code. */
export { KeyportClient as ServerProxy };
