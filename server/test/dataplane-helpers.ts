// Helpers shared by the data-plane tests (signed-in users; key holders come from keys-helpers.ts).
import { createHash } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ensurePersonalLayer } from '../src/modules/layers/personal.js';
import { addMember, type UserSession } from './helpers.js';

export const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A role with the given permissions, given to `member` (invited, accepted). Returns the role id. */
export async function grant(
  owner: UserSession,
  projectId: number,
  member: UserSession,
  permissions: { project: string[]; nodes?: Record<string, string[]> },
  name = `r${Math.random().toString(36).slice(2, 8)}`,
): Promise<number> {
  const role = await owner.post(`/api/projects/${projectId}/roles`, {
    name,
    permissions: { nodes: {}, ...permissions },
  });
  if (role.statusCode !== 201) throw new Error(`role: ${role.statusCode} ${role.body}`);
  const roleId = role.json().id as number;
  await addMember(owner, projectId, member, [roleId]);
  return roleId;
}

/** A personal layer, made by the same code the key-approval flow uses (one per project + user). */
export function personalLayer(app: FastifyInstance, projectId: number, userId: number): Promise<number> {
  return ensurePersonalLayer(app.ctx.k, app.ctx, projectId, userId);
}

/** path + query of an absolute URL, for app.inject */
export const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

/** Raw transfer without any credential, like the Python client's raw_session. */
export function raw(
  app: FastifyInstance,
  method: 'GET' | 'PUT',
  url: string,
  body?: Buffer,
  contentType = 'application/octet-stream',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url: pathOf(url),
    ...(body !== undefined ? { payload: body, headers: { 'content-type': contentType } } : {}),
  });
}

/** Uploads bytes to a project the way ServerProxy.upload_project_file does; returns the file ref. */
export async function upload(
  app: FastifyInstance,
  put: (url: string) => Promise<LightMyRequestResponse>,
  projectId: number,
  bytes: Buffer,
  name: string,
  type = 'text/plain',
) {
  const hash = sha(bytes);
  const res = await put(`/api/projects/${projectId}/objects/${hash}`);
  if (res.statusCode !== 200) throw new Error(`object: ${res.statusCode} ${res.body}`);
  const link = res.json() as string | null;
  if (link !== null) {
    const up = await raw(app, 'PUT', link, bytes, type);
    if (up.statusCode !== 200) throw new Error(`raw put: ${up.statusCode} ${up.body}`);
  }
  return { name, content_hash: hash, type, is_executable: false, is_binary: false, size: bytes.length };
}
