// What a newcomer stumbles on, in en and ru: an owner publishes a key template in a public project;
// a visitor finds it under "Projects offering API keys" (owner shown by name), sees only the
// sections a visitor may use (a typed URL of another says "no access"), gets a key and sees its
// info fields with copy buttons on the tile, imports it, and after the owner revokes it the Secrets
// page marks the imported secrets. The owner's issued-keys period picker shows the range, presets
// and a hint; a click on a key opens its breakdown by outcome and operation; the audit log names
// the template. Also: sign-in required-field errors and no stale error after a good sign-in,
// plural forms on role tiles, the owner role's project_manage box disabled, the price editor in
// the locale's decimals, sentence-case buttons, and progress while a slow page loads.
// Setup the other specs drive through the UI (roles, template fields, request, approval, import)
// is done with the API from the signed-in pages.
import {
  api,
  assert,
  createProject,
  fill,
  navItems,
  plain,
  setLanguage,
  signUp,
  snackbar,
  tid,
  waitUntil,
  withResponse,
} from '../lib.mjs';

const TEXT = {
  en: {
    required: 'Required',
    wrong: /Wrong email or password/,
    noAccess: 'You do not have access to this page',
    owner: (name) => `Owner: ${name}`,
    templates: '1 key template',
    fieldCopied: /project is copied/,
    dead: 'key revoked',
    summary: /^1 project permission · no nodes with grants/,
    price: '0.01',
    presets: ['This month', 'Last month', 'Last 7 days', 'Last 30 days'],
    hint: 'Click the first day of the period, then its last day.',
    auditObject: 'template "Forecast key"',
  },
  ru: {
    required: 'Обязательное поле',
    wrong: /Неверная почта или пароль/,
    noAccess: 'У вас нет доступа к этой странице',
    owner: (name) => `Владелец: ${name}`,
    templates: '1 шаблон ключа',
    fieldCopied: /project/,
    dead: 'ключ отозван',
    summary: /^1 право проекта · нет узлов с правами/,
    price: '0,01',
    presets: ['Этот месяц', 'Прошлый месяц', 'Последние 7 дней', 'Последние 30 дней'],
    hint: 'Нажмите первый день периода, затем последний.',
    auditObject: '«Forecast key»',
  },
};

const messagesOf = async (page, field) =>
  plain((await page.locator(`${tid(field)} .v-messages`).allTextContents()).join(' '));

function newcomer(lang) {
  const L = TEXT[lang];
  return {
    name: `newcomer-${lang}`,
    async run(h) {
      const stamp = `${lang}${Date.now().toString(36)}`;
      const ownerUser = { name: 'Olga Owner', email: `nc-owner-${stamp}@e2e.test`, password: 'owner-password-1' };
      const visitorUser = {
        name: 'Vera Visitor',
        email: `nc-visitor-${stamp}@e2e.test`,
        password: 'visitor-password-1',
      };
      const projectName = `Weather ${stamp}`;

      // ---------- owner: public project with a priced template and info fields (API) ----------
      const owner = await h.newUser('owner');
      const o = owner.page;
      await o.goto('/login');
      await setLanguage(o, lang);
      await signUp(o, ownerUser);
      const projectId = await createProject(o, projectName, 'Forecasts by city');
      const input = await api(o, 'POST', `/projects/${projectId}/nodes`, { name: 'cities', kind: 'input' });
      const output = await api(o, 'POST', `/projects/${projectId}/nodes`, { name: 'forecasts', kind: 'output' });
      const role = await api(o, 'POST', `/projects/${projectId}/roles`, {
        name: 'api-client',
        price_per_request: '0.01',
        permissions: { project: ['project_view'] },
      });
      const visitorRole = await api(o, 'POST', `/projects/${projectId}/roles`, {
        name: 'visitor',
        is_public: true,
        permissions: { project: ['project_view'] },
      });
      const template = await api(o, 'POST', `/projects/${projectId}/api-key-templates`, {
        name: 'Forecast key',
        role_id: role.id,
        description: 'Read forecasts',
      });
      for (const [name, value] of [
        ['project', projectId],
        ['input', input.id],
        ['output', output.id],
      ])
        await api(o, 'POST', `/projects/${projectId}/api-key-templates/${template.id}/fields`, {
          name,
          value: String(value),
          description: `${name} id`,
        });

      // ---------- visitor: sign-up, then sign-in with an empty form, a wrong password, a right one ----------
      const visitor = await h.newUser('visitor');
      const v = visitor.page;
      await v.goto('/signup');
      await setLanguage(v, lang);
      // an empty sign-up form says what it needs; the email error does not crowd the password label
      await v.locator(tid('signup-submit')).click();
      await waitUntil('sign-up required errors', async () => (await messagesOf(v, 'signup-name')).includes(L.required));
      await fill(v, tid('signup-email'), 'not-an-email');
      await v.locator(tid('signup-submit')).click();
      const emailMsg = await v.locator(`${tid('signup-email')} .v-messages`).boundingBox();
      const passwordLabel = await v.locator(`${tid('signup-password')} .v-field`).boundingBox();
      assert(
        emailMsg && passwordLabel && emailMsg.y + emailMsg.height + 8 <= passwordLabel.y,
        'space under the email error',
      );
      await h.screenshot(v, '01-signup-errors');
      await signUp(v, visitorUser);
      await v.locator(tid('user-menu')).click();
      await v.locator(tid('sign-out')).click();
      await v.waitForURL(/\/login/);
      await v.locator(tid('login-submit')).click();
      await waitUntil('sign-in required errors', async () => (await messagesOf(v, 'login-email')).includes(L.required));
      assert((await messagesOf(v, 'login-password')).includes(L.required), 'password required');
      await h.screenshot(v, '02-login-required');
      h.expectConsoleError(/401/);
      await fill(v, tid('login-email'), visitorUser.email);
      await fill(v, tid('login-password'), 'wrong-password-9');
      await v.locator(tid('login-submit')).click();
      await snackbar(v, L.wrong, { keep: true });
      await fill(v, tid('login-password'), visitorUser.password);
      await v.locator(tid('login-submit')).click();
      await v.waitForURL(/\/projects$/);
      await v.waitForTimeout(300);
      const stale = (await v.locator(`${tid('snackbar')} .v-snackbar__content`).allTextContents()).join(' ');
      assert(!L.wrong.test(stale), `no stale sign-in error on Projects, got "${stale}"`);

      // ---------- visitor: the project card names its owner; find the project among those offering keys ----------
      const card = v.locator(tid(`project-card-${projectId}`));
      await card.waitFor();
      assert(
        plain(await card.locator(tid('project-owner')).textContent()) === L.owner(ownerUser.name),
        'owner on card',
      );
      await v.locator(tid('projects-offering')).click();
      await v.waitForURL(/\/offering$/);
      await v.locator(tid('offering-page')).waitFor();
      await fill(v, tid('offering-search'), stamp.toUpperCase());
      const offer = v.locator(tid(`offering-card-${projectId}`));
      await waitUntil(
        'only the matching project',
        async () => (await offer.count()) === 1 && (await v.locator('[data-role="offering-card"]').count()) === 1,
      );
      assert(plain(await offer.locator(tid('offering-owner')).textContent()) === L.owner(ownerUser.name), 'owner');
      assert(plain(await offer.locator(tid('offering-templates')).textContent()) === L.templates, 'template count');
      assert(!(await offer.textContent()).includes(ownerUser.email), 'no owner email');
      await h.screenshot(v, '03-offering');
      await offer.click();
      await v.waitForURL(new RegExp(`/projects/${projectId}/about`));

      // ---------- visitor: only the sections a visitor may use; a typed URL of another says so ----------
      const nav = await navItems(v);
      assert(JSON.stringify(nav) === JSON.stringify(['about', 'graph']), `visitor's drawer: ${nav}`);
      for (const section of ['permissions', 'api-keys', 'audit', 'secrets']) {
        await v.goto(`/projects/${projectId}/${section}`);
        const denied = v.locator(tid('no-access'));
        await denied.waitFor();
        assert(plain(await denied.textContent()).includes(L.noAccess), `${section}: no access`);
        assert((await v.locator(tid('empty-state')).count()) === 0, `${section}: no empty list`);
        assert(!(await v.locator('main').textContent()).includes(ownerUser.email), `${section}: no emails`);
        if (section === 'permissions') await h.screenshot(v, '04-no-access');
      }

      // ---------- visitor: a key arrives; its tile shows the info fields with copy buttons ----------
      const request = await api(v, 'POST', `/projects/${projectId}/api-key-templates/${template.id}/requests`, {});
      const issued = await api(o, 'POST', `/projects/${projectId}/api-key-requests/${request.id}/approve`, {});
      await v.goto(`/projects/${projectId}/about`);
      const tile = v.locator(tid(`key-tile-${template.id}`));
      await waitUntil('tile received', async () => (await tile.getAttribute('data-state')) === 'received');
      const fieldRow = tile.locator('[data-role="key-info-field"][data-name="input"]');
      await fieldRow.waitFor();
      assert(plain(await fieldRow.locator(tid('key-info-field-value')).textContent()) === String(input.id), 'input id');
      await tile
        .locator('[data-role="key-info-field"][data-name="project"]')
        .locator(tid('key-info-field-copy'))
        .click();
      await snackbar(v, L.fieldCopied);
      assert((await v.evaluate(() => navigator.clipboard.readText())) === String(projectId), 'project id copied');
      const tt = await tile.locator(tid('key-copy')).evaluate((el) => getComputedStyle(el).textTransform);
      assert(tt === 'none', `buttons in sentence case, got ${tt}`);
      await h.screenshot(v, '05-key-tile-fields');

      // ---------- visitor: three requests with the key, import it, then the owner revokes it ----------
      const { token } = await api(v, 'GET', `/me/api-keys/${issued.id}/token`);
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${h.baseUrl}/api/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
        assert(r.status === 200, 'the key works');
      }
      await fetch(`${h.baseUrl}/api/projects/${projectId}/secrets`, { headers: { authorization: `Bearer ${token}` } });
      const workspaceId = await createProject(v, `Jobs ${stamp}`);
      await api(v, 'POST', `/projects/${workspaceId}/secrets/import-api-key`, { key_id: issued.id, prefix: 'WX' });

      // ---------- owner: issued keys: period picker, presets, hint; a key's breakdown ----------
      await o.goto(`/projects/${projectId}/api-keys?tab=issued`);
      const row = o.locator(tid(`issued-${issued.id}`));
      await row.waitFor();
      await o.locator(tid('period-picker')).click();
      const calendar = o.locator(tid('period-calendar'));
      await calendar.waitFor();
      const now = new Date();
      const daysInMonth = new Date(now.getFullYear(), now.getMonth() + 1, 0).getDate();
      const selected = await calendar
        .locator('.v-date-picker-month__day--selected:not(.v-date-picker-month__day--adjacent)')
        .count();
      assert(selected === daysInMonth, `the current month is highlighted: ${selected} of ${daysInMonth} days`);
      assert(plain(await o.locator(tid('period-hint')).textContent()) === L.hint, 'range hint');
      const presets = (await o.locator(`${tid('period-presets')} .v-chip`).allTextContents()).map(plain);
      assert(JSON.stringify(presets) === JSON.stringify(L.presets), `presets: ${presets}`);
      assert(
        (await o.locator(tid('period-preset-thisMonth')).getAttribute('data-active')) === '1',
        'this month marked',
      );
      assert(!/Enter date|Введите дату/.test(await calendar.textContent()), 'no "Enter date" heading');
      const range = plain(await o.locator(tid('period-range')).textContent());
      assert(
        range === plain(await o.locator(tid('period-picker')).textContent()),
        `the range as the heading: ${range}`,
      );
      await h.screenshot(o, '06-period-picker');
      await withResponse(o, 'GET', /\/issued-keys$/, () => o.locator(tid('period-preset-last7')).click());
      await o.locator(tid('period-picker')).click();
      assert((await o.locator(tid('period-preset-last7')).getAttribute('data-active')) === '1', 'last 7 days marked');
      await o.keyboard.press('Escape');
      await row.click();
      const panel = o.locator(tid('key-breakdown'));
      await panel.waitFor();
      await waitUntil(
        'billed requests in the breakdown',
        async () => {
          const billed = panel.locator('[data-role="breakdown-outcome"][data-outcome="billed"]');
          if ((await billed.count()) && Number(await billed.getAttribute('data-requests')) >= 3) return true;
          await withResponse(o, 'GET', /\/breakdown$/, () => o.locator(tid('issued-refresh')).click());
          return false;
        },
        30_000,
        500,
      );
      assert((await panel.locator('[data-role="breakdown-operation"]').count()) >= 1, 'operations listed');
      await h.screenshot(o, '07-key-breakdown');
      await row.locator(tid('issued-revoke')).click();
      await withResponse(o, 'DELETE', /\/issued-keys\/\d+$/, () => o.locator(tid('confirm-ok')).click());

      // ---------- visitor: the imported secrets say their key is revoked ----------
      await v.goto(`/projects/${workspaceId}/secrets`);
      const tokenSecret = v.locator('[data-role="secret-tile"][data-name="WX_token"]');
      await tokenSecret.waitFor();
      const chip = tokenSecret.locator(tid('secret-key-dead'));
      await chip.waitFor();
      assert((await chip.getAttribute('data-status')) === 'revoked', 'revoked status');
      assert(plain(await chip.textContent()) === L.dead, 'warning chip text');
      await v.locator('[data-role="secret-tile"][data-name="WX_input"]').locator(tid('secret-key-dead')).waitFor();
      await h.screenshot(v, '08-secrets-dead-key');

      // ---------- owner: audit names the template; role tiles in plural forms; owner keeps project_manage ----------
      await o.goto(`/projects/${projectId}/audit`);
      const objects = o.locator(tid('audit-object'));
      await objects.first().waitFor();
      const objectTexts = (await objects.allTextContents()).map(plain);
      assert(
        objectTexts.some((x) => x.includes(L.auditObject)),
        `audit names the template: ${objectTexts.slice(0, 6).join(' | ')}`,
      );
      const changes = (await o.locator(tid('audit-change')).allTextContents()).map(plain);
      assert(changes.length > 0, 'audit says which field');
      await h.screenshot(o, '09-audit-names');
      await o.goto(`/projects/${projectId}/permissions`);
      const visitorTile = o.locator(tid(`role-tile-${visitorRole.id}`));
      await visitorTile.waitFor();
      const summary = plain(await visitorTile.locator(tid('role-summary')).textContent());
      assert(L.summary.test(summary), `plural summary: ${summary}`);
      const clientTile = o.locator(tid(`role-tile-${role.id}`));
      const priceInput = clientTile.locator(`${tid('role-price')} input`);
      assert((await priceInput.inputValue()) === L.price, `price in the locale: ${await priceInput.inputValue()}`);
      const ownerTile = o.locator('[data-role="role-tile"][data-name="owner"]');
      await ownerTile.locator(tid('role-permissions')).click();
      const manage = o.locator(`${tid('perm-project-project_manage')} input`);
      await manage.waitFor();
      assert(await manage.isDisabled(), 'owner role: project_manage cannot be cleared');
      assert(await manage.isChecked(), 'owner role: project_manage held');
      await h.screenshot(o, '10-owner-keeps-manage');
      await o.keyboard.press('Escape');

      // ---------- visitor: a slow network shows progress, not a blank page ----------
      await v.route('**/api/me/api-keys', async (route) => {
        await new Promise((r) => setTimeout(r, 1500));
        await route.continue();
      });
      await v.goto('/projects');
      await v.locator(tid('user-menu')).click();
      await v.locator(tid('menu-my-keys')).click();
      await v.locator(tid('my-keys-loading')).waitFor();
      await h.screenshot(v, '11-slow-loading');
      await v.unroute('**/api/me/api-keys');
    },
  };
}

export const specs = [newcomer('en'), newcomer('ru')];
