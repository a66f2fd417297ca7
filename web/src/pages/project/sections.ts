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
import {
  canAny,
  KEY_MANAGE_PERMISSIONS,
  PROJECT_MANAGE_PERMISSIONS,
  SECRETS_PERMISSIONS,
} from '../../lib/permissions.js';

export interface Section {
  name: string;
  icon: string;
  needs: readonly string[];
}

export const SECTIONS: Section[] = [
  { name: 'about', icon: mdiInformation, needs: [] },
  { name: 'graph', icon: mdiGraphOutline, needs: [] },
  { name: 'secrets', icon: mdiKeyVariant, needs: SECRETS_PERMISSIONS },
  { name: 'permissions', icon: mdiShieldAccount, needs: PROJECT_MANAGE_PERMISSIONS },
  { name: 'api-keys', icon: mdiShieldKey, needs: KEY_MANAGE_PERMISSIONS },
  { name: 'audit', icon: mdiTextBoxOutline, needs: PROJECT_MANAGE_PERMISSIONS },
  { name: 'webhooks', icon: mdiWebhook, needs: PROJECT_MANAGE_PERMISSIONS },
];

export const mayOpen = (s: Section, canAnywhere: (permission: string) => boolean) =>
  s.needs.length === 0 || canAny(canAnywhere, s.needs);
