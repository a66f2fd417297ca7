import { createRouter, createWebHistory } from 'vue-router';
import { useAuthStore } from './stores/auth.js';
import { useUiStore } from './stores/ui.js';

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: '/projects' },
    { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { public: true } },
    { path: '/signup', name: 'signup', component: () => import('./pages/SignupPage.vue'), meta: { public: true } },
    { path: '/projects', name: 'projects', component: () => import('./pages/ProjectsPage.vue') },
    { path: '/invitations', name: 'invitations', component: () => import('./pages/InvitationsPage.vue') },
    { path: '/me/keys', name: 'my-keys', component: () => import('./pages/MyKeysPage.vue') },
    { path: '/offering', name: 'offering', component: () => import('./pages/OfferingPage.vue') },
    {
      path: '/projects/:p(\\d+)',
      component: () => import('./pages/ProjectPage.vue'),
      props: (r) => ({ projectId: Number(r.params.p) }),
      children: [
        { path: '', redirect: (to) => `/projects/${to.params.p}/about` },
        { path: 'about', name: 'about', component: () => import('./pages/project/AboutPanel.vue') },
        { path: 'graph', name: 'graph', component: () => import('./pages/project/GraphPanel.vue') },
        { path: 'secrets', name: 'secrets', component: () => import('./pages/project/SecretsPanel.vue') },
        { path: 'permissions', name: 'permissions', component: () => import('./pages/project/PermissionsPanel.vue') },
        { path: 'api-keys', name: 'api-keys', component: () => import('./pages/project/ApiKeysPanel.vue') },
        { path: 'audit', name: 'audit', component: () => import('./pages/project/AuditPanel.vue') },
        { path: 'webhooks', name: 'webhooks', component: () => import('./pages/project/WebhooksPanel.vue') },
      ],
    },
    {
      path: '/:rest(.*)*',
      name: 'not-found',
      component: () => import('./pages/NotFoundPage.vue'),
      meta: { public: true },
    },
  ],
});

router.beforeEach(async (to) => {
  // a slow network: the page's code and the session check show as progress, not a blank page
  useUiStore().navigating = true;
  const auth = useAuthStore();
  await auth.ready();
  if (!to.meta.public && !auth.user)
    return { name: 'login', query: to.fullPath !== '/projects' ? { next: to.fullPath } : {} };
  if ((to.name === 'login' || to.name === 'signup') && auth.user) return { name: 'projects' };
  return true;
});

const settled = () => {
  useUiStore().navigating = false;
};
router.afterEach(settled);
router.onError(settled);
