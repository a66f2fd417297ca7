// One HTTP attempt: POST the signed body, wait at most `timeoutMs` for the answer's status, follow
// no redirect, read nothing of the answer. The host is checked before connecting (address-guard).
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { AddressRefused, guardedLookup, hostOf, type Resolve, type UrlPolicy, urlProblem } from './address-guard.js';

export interface AttemptResult {
  /** the receiver's status; null when none came */
  statusCode: number | null;
  latencyMs: number;
  /** why the attempt failed; null on a 2xx */
  error: string | null;
}

export interface PostOptions {
  policy: UrlPolicy;
  resolve: Resolve;
  timeoutMs: number;
}

const ERROR_TEXT = 300;

function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = e.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e.message ?? err);
  return text.slice(0, ERROR_TEXT);
}

export function statusError(status: number): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return `HTTP ${status}: redirects are not followed`;
  return `HTTP ${status}`;
}

export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: PostOptions,
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const problem = urlProblem(url, opts.policy);
  if (problem) return Promise.resolve({ statusCode: null, latencyMs: 0, error: `refused: ${problem}` });
  const target = new URL(url);
  const allowed = opts.policy.allowHosts.has(hostOf(target));
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ statusCode, latencyMs: elapsed(), error });
      req.destroy();
    };
    const req = client.request(
      target,
      {
        method: 'POST',
        agent: false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Keyport-Webhooks/1',
        },
        // names resolve through the guard; literal hosts were checked by urlProblem above
        ...(allowed ? {} : { lookup: guardedLookup(opts.resolve) as unknown as http.RequestOptions['lookup'] }),
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        finish(status, statusError(status));
      },
    );
    const timer = setTimeout(() => finish(null, `timed out after ${opts.timeoutMs / 1000} s`), opts.timeoutMs);
    req.on('error', (err) => finish(null, err instanceof AddressRefused ? `refused: ${err.message}` : errorText(err)));
    req.end(body);
  });
}
