// The sections of a project page and who may use each: a section whose `needs` is empty is for
// every viewer; otherwise any one of the listed permissions opens it (project-wide or, for
// node permissions, on some node). The drawer lists only what the caller may use, and a section
// opened by a typed URL says which permission it needs.
import {
  mdiGraphOutline,
  mdiInformation,
  mdiKeyVariant,
  mdiShieldAccount,
  mdiShieldKey,
  mdiTextBoxOutline,
  mdiWebhook,
} from '../../icons.js';

export interface Section {
  name: string;
  icon: string;
  needs: string[];
}

export const SECTIONS: Section[] = [
  { name: 'about', icon: mdiInformation, needs: [] },
  { name: 'graph', icon: mdiGraphOutline, needs: [] },
  { name: 'secrets', icon: mdiKeyVariant, needs: ['project_manage', 'code_edit'] },
  { name: 'permissions', icon: mdiShieldAccount, needs: ['project_manage'] },
  { name: 'api-keys', icon: mdiShieldKey, needs: ['project_manage'] },
  { name: 'audit', icon: mdiTextBoxOutline, needs: ['project_manage'] },
  { name: 'webhooks', icon: mdiWebhook, needs: ['project_manage'] },
];

export const mayOpen = (s: Section, canAnywhere: (permission: string) => boolean) =>
  s.needs.length === 0 || s.needs.some(canAnywhere);
