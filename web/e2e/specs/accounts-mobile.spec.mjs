// Accounts and the narrow screen: sign up, sign out, a failed sign-in shows a translated error,
// sign in again, the language choice survives a reload; the project page works at phone width.
import { assert, createProject, fill, setLanguage, signUp, snackbar, tid, waitUntil } from '../lib.mjs';

export const specs = [
  {
    name: 'accounts-mobile',
    async run(h) {
      const user = {
        name: 'Mia Mobile',
        email: `mobile-${Date.now().toString(36)}@e2e.test`,
        password: 'mobile-password-1',
      };
      const { page } = await h.newUser('mobile', { width: 390, height: 844 });
      await page.goto('/projects');
      await page.waitForURL(/\/login/);
      await signUp(page, user);
      await page.locator(tid('empty-state')).waitFor();
      const projectId = await createProject(page, 'Pocket project', 'Made on a phone');

      // the drawer is a temporary one on a phone: open it and go to Graph, then Permissions
      await page.locator(tid('drawer-toggle')).click();
      await page.locator(tid('nav-graph')).click();
      await page.waitForURL(new RegExp(`/projects/${projectId}/graph$`));
      await page.locator(tid('graph-panel')).waitFor();
      await fill(page, tid('node-name'), 'input');
      await page.locator(tid('node-add')).click();
      await page.locator('[data-role="node-row"][data-name="input"]').waitFor();
      await h.screenshot(page, '01-graph-phone');

      // a secret: create with "+", change its value, reveal it with the eye
      await page.locator(tid('drawer-toggle')).click();
      await page.locator(tid('nav-secrets')).click();
      await page.locator(tid('secret-create')).click();
      await fill(page, tid('secret-new-name'), 'API_URL');
      await fill(page, tid('secret-new-value'), 'https://old.example');
      await page.locator(tid('secret-submit')).click();
      const secret = page.locator('[data-role="secret-tile"][data-name="API_URL"]');
      await secret.waitFor();
      await secret.locator(tid('secret-edit-value')).click();
      await fill(page, tid('secret-edit-value-input'), 'https://new.example');
      await page.locator(tid('secret-value-save')).click();
      await page.locator(tid('secret-value-dialog')).waitFor({ state: 'hidden' });
      await secret.locator(tid('secret-eye')).click();
      await waitUntil(
        'new value shown',
        async () => (await secret.locator(tid('secret-value')).textContent()).trim() === 'https://new.example',
      );
      await h.screenshot(page, '02-secret-phone');

      // language persists across reloads
      await setLanguage(page, 'ru');
      await page.reload();
      await page.locator(tid('secrets-panel')).waitFor();
      assert((await page.locator('html').getAttribute('lang')) === 'ru', 'language kept after reload');

      // sign out, a wrong password gives a Russian error, then sign in
      await page.locator(tid('user-menu')).click();
      await page.locator(tid('sign-out')).click();
      await page.waitForURL(/\/login/);
      await fill(page, tid('login-email'), user.email);
      await fill(page, tid('login-password'), 'wrong-password');
      h.expectConsoleError(/status of 401 .*\/api\/auth\/login\)$/);
      await page.locator(tid('login-submit')).click();
      await snackbar(page, /Неверная почта или пароль/, { keep: true });
      await h.screenshot(page, '03-login-error-ru');
      await page.locator(tid('snackbar-close')).click();
      await fill(page, tid('login-password'), user.password);
      await page.locator(tid('login-submit')).click();
      await page.waitForURL(/\/projects$/);
      await page.locator(`[data-role="project-card"][data-name="Pocket project"]`).waitFor();
      await setLanguage(page, 'en');
      await waitUntil('English title', async () => (await page.locator('h1').textContent()).includes('Projects'));
    },
  },
];
