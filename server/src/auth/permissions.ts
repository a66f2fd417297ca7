// The permission model and the one check every route uses: can(access, permission, node?).

export const PROJECT_PERMISSIONS = [
  'project_view',
  'project_edit',
  'project_manage',
  // requests, issued keys, their statistics, rolls, revocations and spend caps; not roles,
  // members or secrets (project_manage implies it)
  'api_keys_manage',
  'graph_ui',
  'graph_view',
  'graph_edit',
  'code_view',
  'code_edit',
  'interface_manage',
  'package_view',
  'package_create',
  'package_delete',
] as const;

export const NODE_PERMISSIONS = ['code_view', 'code_edit', 'package_view', 'package_create', 'package_delete'] as const;

/**
 * What a public role (held by every signed-in user) may grant: viewing only. Anything that
 * changes a project, reads its secrets or manages it must be granted to a person by name.
 */
export const PUBLIC_ROLE_PERMISSIONS = ['project_view', 'graph_ui', 'graph_view', 'code_view', 'package_view'] as const;
export const PUBLIC_ROLE_NODE_PERMISSIONS = ['code_view', 'package_view'] as const;

export type Permission = (typeof PROJECT_PERMISSIONS)[number];
export type NodePermission = (typeof NODE_PERMISSIONS)[number];

export interface PermissionSet {
  project: Permission[];
  nodes: Record<string, NodePermission[]>;
}

/** Who is calling: a signed-in person, or a program holding an API key. */
export type Actor =
  | { kind: 'user'; userId: number; sessionId: number }
  | {
      kind: 'key';
      keyId: number;
      userId: number;
      projectId: number;
      templateId: number;
      roleId: number;
      /** the role's price per request (micro-units) as cached with this key; metering bills it */
      priceMicros: number;
    };

/** What an actor may do in one project, resolved once per request. */
export interface Access {
  readonly projectId: number;
  readonly actor: Actor;
  readonly project: ReadonlySet<string>;
  readonly nodes: ReadonlyMap<number, ReadonlySet<string>>;
}

const NODE_SET: ReadonlySet<string> = new Set(NODE_PERMISSIONS);

/** Permissions that another one includes: a project manager manages its keys too. */
export const IMPLIED_BY: Readonly<Partial<Record<string, Permission>>> = { api_keys_manage: 'project_manage' };

/** Whether project-wide permissions hold `permission`, directly or through the one that implies it. */
export function holdsProject(project: { has(p: string): boolean }, permission: Permission): boolean {
  if (project.has(permission)) return true;
  const wider = IMPLIED_BY[permission];
  return wider !== undefined && project.has(wider);
}

export function can(access: Access, permission: Permission, nodeId?: number): boolean {
  if (holdsProject(access.project, permission)) return true;
  if (nodeId === undefined || !NODE_SET.has(permission)) return false;
  return access.nodes.get(nodeId)?.has(permission) ?? false;
}

/** Union of several roles' permission sets. */
export function mergePermissions(sets: PermissionSet[]): { project: Set<string>; nodes: Map<number, Set<string>> } {
  const project = new Set<string>();
  const nodes = new Map<number, Set<string>>();
  for (const s of sets) {
    for (const p of s.project) project.add(p);
    for (const [nodeId, perms] of Object.entries(s.nodes)) {
      const id = Number(nodeId);
      const set = nodes.get(id) ?? new Set<string>();
      nodes.set(id, set);
      for (const p of perms) set.add(p);
    }
  }
  return { project, nodes };
}

export const ALL_PERMISSIONS: PermissionSet = { project: [...PROJECT_PERMISSIONS], nodes: {} };

export function parsePermissions(json: string): PermissionSet {
  const v = JSON.parse(json) as Partial<PermissionSet>;
  return { project: v.project ?? [], nodes: v.nodes ?? {} };
}

const PUBLIC_SET: ReadonlySet<string> = new Set(PUBLIC_ROLE_PERMISSIONS);
const PUBLIC_NODE_SET: ReadonlySet<string> = new Set(PUBLIC_ROLE_NODE_PERMISSIONS);

/** The permissions of `set` that a public role may not grant (empty: fit for a public role). */
export function beyondPublic(set: PermissionSet): string[] {
  const bad = new Set(set.project.filter((p) => !PUBLIC_SET.has(p)));
  for (const perms of Object.values(set.nodes)) for (const p of perms) if (!PUBLIC_NODE_SET.has(p)) bad.add(p);
  return [...bad];
}

/** A public role's grant as it applies to non-members: its viewing permissions only. */
export function publicPart(set: PermissionSet): PermissionSet {
  const nodes: PermissionSet['nodes'] = {};
  for (const [id, perms] of Object.entries(set.nodes)) nodes[id] = perms.filter((p) => PUBLIC_NODE_SET.has(p));
  return { project: set.project.filter((p) => PUBLIC_SET.has(p)), nodes };
}
