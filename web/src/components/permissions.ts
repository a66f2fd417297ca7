// The closed permission lists of SPEC §2 (same as server/src/auth/permissions.ts).
export const PROJECT_PERMISSIONS = [
  'project_view',
  'project_edit',
  'project_manage',
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
