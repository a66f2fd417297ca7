// The closed permission lists of SPEC §2: the server's own (a dependency-free module), so the UI
// offers exactly what the API accepts. A public role may hold only the viewing ones.

import {
  type PermissionSet,
  PUBLIC_ROLE_NODE_PERMISSIONS,
  PUBLIC_ROLE_PERMISSIONS,
  beyondPublic as serverBeyondPublic,
} from '../../../server/src/auth/permissions.js';
import type { Permissions } from '../api/index.js';

export {
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
