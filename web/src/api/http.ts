// One fetch wrapper for the Keyport API: JSON in/out, session cookie, CSRF header on state changes,
// errors as ApiError {code, message, status}; `endpoint()` types each call from the server's contract.
import type { VarName } from './contract.js';
import type { ApiPath, BodyArg, ErrorResponse, Method, Ok, Query as QueryOf } from './types.js';

let csrfToken = '';
let onUnauthorized: (() => void) | null = null;

/** Called when a signed-in call gets 401 (the session ended elsewhere or expired). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** the input the server refused (`error.field` of a 400), to show the message at that field */
    readonly field?: string,
    /** the rest of the error body (e.g. `keyword` and `limit` of a VALIDATION_FAILED) */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(withQuery(`/api${path}`, query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('NETWORK', 'The server cannot be reached', 0);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401 && !path.startsWith('/auth/')) onUnauthorized?.();
  if (!res.ok) throw apiError(res, data);
  return data as T;
}

/** The ApiError of a failed answer and its parsed body. */
export function apiError(res: Response, data: unknown): ApiError {
  // a proxy in front of the server may answer without the contract's error body
  const err = (data as Partial<ErrorResponse> | null)?.error;
  const field = typeof err?.field === 'string' ? err.field : undefined;
  return new ApiError(err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText, res.status, field, {
    ...(err ?? {}),
  });
}

/** The `{name}` parts of a contract path, e.g. `{p: 1, r: 2}` for `/projects/{p}/roles/{r}`. */
type Vars<P extends ApiPath> = { [K in VarName<P>]: number | string };
type VarsArg<P extends ApiPath> = [VarName<P>] extends [never] ? [] : [vars: Vars<P>];

/** The operations the contract declares at a path, typed by it (a method it lacks is no member). */
export type Endpoint<P extends ApiPath> = {
  [M in Method as [Ok<P, M>] extends [never] ? never : M]: M extends 'get'
    ? (query?: QueryOf<P, M>) => Promise<Ok<P, M>>
    : (...body: BodyArg<P, M>) => Promise<Ok<P, M>>;
};

/**
 * One endpoint of the contract: `endpoint('/projects/{p}/roles', { p }).get()` answers the contract's
 * Role[]; `.post(body)` takes its request body. The one place where the wire meets the contract.
 */
export function endpoint<P extends ApiPath>(path: P, ...[vars]: VarsArg<P>): Endpoint<P> {
  const values = (vars ?? {}) as Record<string, number | string>;
  const url = path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(values[k])));
  return {
    get: (query?: Query) => request('GET', url, undefined, query),
    // a POST without a declared body still sends `{}` (Fastify refuses an empty JSON body)
    post: (body: unknown = {}) => request('POST', url, body),
    put: (body: unknown) => request('PUT', url, body),
    patch: (body: unknown) => request('PATCH', url, body),
    delete: (body?: unknown) => request('DELETE', url, body),
  } as unknown as Endpoint<P>;
}
