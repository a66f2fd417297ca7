// The open project: its record (with my permissions), nodes and roles, shared by its panels.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { type GraphNode, graph, type Project, projects, type Role, roles as rolesApi } from '../api/index.js';
import { canManageKeys as mayManageKeys } from '../lib/permissions.js';

export const useProjectStore = defineStore('project', () => {
  const project = ref<Project | null>(null);
  const nodes = ref<GraphNode[]>([]);
  const roles = ref<Role[]>([]);
  const loading = ref(false);

  const id = computed(() => project.value?.id ?? 0);
  const perms = computed(() => new Set(project.value?.permissions.project ?? []));
  const can = (permission: string) => perms.value.has(permission);
  /** project-wide, or on at least one node */
  const canAnywhere = (permission: string) =>
    can(permission) || Object.values(project.value?.permissions.nodes ?? {}).some((l) => l.includes(permission));
  const canManage = computed(() => can('project_manage'));
  /** templates, requests and issued keys */
  const canManageKeys = computed(() => mayManageKeys(can));
  const isOwner = computed(() => project.value?.is_owner === true);
  const currency = computed(() => project.value?.currency ?? '');

  async function open(projectId: number) {
    if (project.value?.id !== projectId) {
      project.value = null;
      nodes.value = [];
      roles.value = [];
    }
    loading.value = true;
    try {
      project.value = await projects.get(projectId);
      await Promise.all([loadNodes(), loadRoles()]);
    } finally {
      loading.value = false;
    }
  }

  async function loadNodes() {
    if (project.value) nodes.value = await graph.nodes(project.value.id);
  }
  async function loadRoles() {
    if (project.value) roles.value = await rolesApi.list(project.value.id);
  }
  async function refresh() {
    if (project.value) project.value = await projects.get(project.value.id);
  }
  const nodeName = (nodeId: number) => nodes.value.find((n) => n.id === nodeId)?.name ?? `#${nodeId}`;

  return {
    project,
    nodes,
    roles,
    loading,
    id,
    can,
    canAnywhere,
    canManage,
    canManageKeys,
    isOwner,
    currency,
    open,
    loadNodes,
    loadRoles,
    refresh,
    nodeName,
  };
});
