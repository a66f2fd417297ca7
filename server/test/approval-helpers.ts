// A project with a key template for the approval workflow suites: owner, a viewer role behind the
// template, the project made visible so anyone signed in can request.
import { makeProject, type UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';

export async function approvalSetup(owner: UserSession, template: Record<string, unknown> = {}) {
  const { projectId } = await makeProject(owner, 'Approvals');
  const role = await owner.post(`/api/projects/${projectId}/roles`, {
    name: 'caller',
    price_per_request: '0.01',
    permissions: { project: ['project_view'] },
  });
  if (role.statusCode !== 201) throw new Error(`role: ${role.body}`);
  const t = await owner.post(`/api/projects/${projectId}/api-key-templates`, {
    name: 'Calculator',
    role_id: role.json().id,
    ...template,
  });
  if (t.statusCode !== 201) throw new Error(`template: ${t.body}`);
  await makeProjectVisible(owner, projectId);
  return {
    projectId,
    roleId: role.json().id as number,
    templateId: t.json().id as number,
    requestUrl: `/api/projects/${projectId}/api-key-templates/${t.json().id}/requests`,
  };
}

/** The domain of a test user's address (signUp makes …@example.test). */
export const domainOf = (s: UserSession) => s.user.email.slice(s.user.email.indexOf('@') + 1);
