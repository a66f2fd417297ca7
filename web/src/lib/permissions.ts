// The closed permission lists: the server's own (a dependency-free module), so the UI
// offers exactly what the API accepts. A public role may hold only the viewing ones.

import {
  IMPLIED_BY,
  type PermissionSet,
  PUBLIC_ROLE_NODE_PERMISSIONS,
  PUBLIC_ROLE_PERMISSIONS,
  beyondPublic as serverBeyondPublic,
} from '../../../server/src/auth/permissions.js';
import type { Permissions } from '../api/index.js';

export {
  IMPLIED_BY,
  NODE_PERMISSIONS,
  PROJECT_PERMISSIONS,
  PUBLIC_ROLE_NODE_PERMISSIONS,
  PUBLIC_ROLE_PERMISSIONS,
} from '../../../server/src/auth/permissions.js';

const PUBLIC_PROJECT: ReadonlySet<string> = new Set(PUBLIC_ROLE_PERMISSIONS);
const PUBLIC_NODE: ReadonlySet<string> = new Set(PUBLIC_ROLE_NODE_PERMISSIONS);
export const publicAllows = (p: string) => PUBLIC_PROJECT.has(p);
export const publicAllowsOnNode = (p: string) => PUBLIC_NODE.has(p);

/** The permissions of a set that a public role may not hold (empty: fit for a public role). */
export const beyondPublic = (set: Permissions): string[] => serverBeyondPublic(set as PermissionSet);

/** What `next` holds that `before` did not: project permissions, and node grants not already covered. */
export function addedPermissions(before: Permissions, next: Permissions) {
  const had = new Set(before.project);
  const project = next.project.filter((p) => !had.has(p));
  const nodes: { nodeId: number; perm: string }[] = [];
  for (const [id, perms] of Object.entries(next.nodes)) {
    const old = new Set(before.nodes[id] ?? []);
    for (const p of perms)
      if (!old.has(p) && !had.has(p) && !next.project.includes(p)) nodes.push({ nodeId: Number(id), perm: p });
  }
  return { project, nodes, any: project.length > 0 || nodes.length > 0 };
}

/** Who may manage API keys (templates, requests, issued keys): api_keys_manage, or the permission implying it. */
export const KEY_MANAGE_PERMISSIONS = ['api_keys_manage', IMPLIED_BY.api_keys_manage as string] as const;
/** Who may manage the project itself: roles, members, audit, webhooks. */
export const PROJECT_MANAGE_PERMISSIONS = ['project_manage'] as const;
/** Who may see the Secrets page: its managers, and code editors whose jobs read secrets. */
export const SECRETS_PERMISSIONS = ['project_manage', 'code_edit'] as const;

type Can = (permission: string) => boolean;
/** Any one of `perms`, by the caller's check (project-wide, or anywhere for node permissions). */
export const canAny = (can: Can, perms: readonly string[]) => perms.some(can);
export const canManageKeys = (can: Can) => canAny(can, KEY_MANAGE_PERMISSIONS);
export const canManageProject = (can: Can) => canAny(can, PROJECT_MANAGE_PERMISSIONS);
