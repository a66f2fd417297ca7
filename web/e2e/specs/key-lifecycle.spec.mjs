// The whole life of an API key through the UI, with two people in two browsers:
// owner builds a project and a template → client requests → owner approves → client copies the
// token and imports it as secrets → a program uses the token → owner sees usage and revokes →
// client sees the key revoked. Run once in English and once in Russian. Also: the template's
// monthly quota (typed, validated, shown to the requester in the UI's number format), notification
// bodies written in the UI's language from their params, and (en) deleting the project.
import {
  assert,
  createProject,
  fill,
  navItems,
  newestNotification,
  plain,
  selectOption,
  setLanguage,
  signUp,
  snackbar,
  tid,
  waitUntil,
  withResponse,
} from '../lib.mjs';

const TEXT = {
  en: {
    kinds: { compute: 'compute', output: 'output' },
    about: 'About',
    waiting: /Waiting for approval since/,
    received: /Received/,
    revoked: /Revoked/,
    prefixTaken: /CALC_token.*exist in this project/,
    ownerReason: /Reason: revoked by the project owner/,
    quotaUsed: /3 of 1,000 used this month/,
    copied: /copied/,
    approved: /Key issued/,
    imported: /4 secrets created/,
    revokedToast: /Key revoked/,
    cost: '0.75',
    quota1000: '1,000 requests / month',
    quotaInvalid: /whole number of at least 1/,
    noAccess: /You do not have access to this page/,
    newRequestTitle: 'New API key request',
    newRequestBody: (client, tpl, project) =>
      `${client.name} (${client.email}) requests the API key "${tpl}" of project "${project}".`,
    revokedTitle: 'Your API key was revoked',
    revokedBody: (tpl, project) =>
      `Your API key "${tpl}" of project "${project}" was revoked. It no longer works; you may request a new one.`,
  },
  ru: {
    kinds: { compute: 'вычисление', output: 'выход' },
    about: 'О проекте',
    waiting: /Ожидает одобрения с/,
    received: /Получен/,
    revoked: /Отозван/,
    prefixTaken: /CALC_token.*в этом проекте уже есть/,
    ownerReason: /Причина: отозван владельцем проекта/,
    quotaUsed: /использовано 3 из 1\s000 в этом месяце/,
    copied: /скопирован/,
    approved: /Ключ выдан/,
    imported: /Создано 4 секрета/,
    revokedToast: /Ключ отозван/,
    cost: '0,75',
    quota1000: '1 000 запросов в месяц',
    quotaInvalid: /Целое число не меньше 1/,
    noAccess: /У вас нет доступа к этой странице/,
    newRequestTitle: 'Новый запрос API-ключа',
    newRequestBody: (client, tpl, project) =>
      `${client.name} (${client.email}) запрашивает API-ключ «${tpl}» проекта «${project}».`,
    revokedTitle: 'Ваш API-ключ отозван',
    revokedBody: (tpl, project) =>
      `Ваш API-ключ «${tpl}» проекта «${project}» отозван. Он больше не работает; можно запросить новый.`,
  },
};

function lifecycle(lang) {
  const L = TEXT[lang];
  return {
    name: `key-lifecycle-${lang}`,
    async run(h) {
      const stamp = `${lang}${Date.now().toString(36)}`;
      const ownerUser = { name: 'Olga Owner', email: `owner-${stamp}@e2e.test`, password: 'owner-password-1' };
      const clientUser = { name: 'Carl Client', email: `client-${stamp}@e2e.test`, password: 'client-password-1' };
      const projectName = `Calculator ${stamp}`;

      // ---------- owner: account, project, graph ----------
      const owner = await h.newUser('owner');
      const o = owner.page;
      await o.goto('/');
      await o.waitForURL(/\/login/);
      await setLanguage(o, lang);
      await signUp(o, ownerUser);
      const projectId = await createProject(o, projectName, 'Adds numbers');
      h.log(`owner project ${projectId}`);
      if (lang === 'ru')
        assert((await o.locator(tid('nav-about')).textContent()).includes(L.about), 'Russian navigation');

      await o.locator(tid('nav-graph')).click();
      const addNode = async (name, kindLabel) => {
        await fill(o, tid('node-name'), name);
        if (kindLabel) await selectOption(o, tid('node-kind'), kindLabel);
        await withResponse(o, 'POST', /\/nodes$/, () => o.locator(tid('node-add')).click());
        const row = o.locator(`[data-role="node-row"][data-name="${name}"]`);
        await row.waitFor();
        return Number((await row.getAttribute('data-testid')).replace('node-', ''));
      };
      const inputId = await addNode('input');
      const sumId = await addNode('sum', L.kinds.compute);
      const outputId = await addNode('output', L.kinds.output);
      // rename a node in place, link two nodes
      const sumRename = o.locator(`${tid(`node-${sumId}`)} ${tid('node-rename')} input`);
      await sumRename.fill('adder');
      await withResponse(o, 'PATCH', new RegExp(`/nodes/${sumId}$`), () => sumRename.press('Enter'));
      await selectOption(o, tid('link-from'), 'input');
      await selectOption(o, tid('link-to'), 'adder');
      await withResponse(o, 'POST', /\/links$/, () => o.locator(tid('link-add')).click());
      await selectOption(o, tid('link-from'), 'adder');
      await selectOption(o, tid('link-to'), 'output');
      await withResponse(o, 'POST', /\/links$/, () => o.locator(tid('link-add')).click());
      await waitUntil('two links', async () => (await o.locator('[data-role="link-row"]').count()) === 2);
      await o.locator(tid('graph-drawing')).waitFor();
      await h.screenshot(o, '00-owner-graph');

      // ---------- owner: roles (priced api role with node grants, public visitor role) ----------
      await o.locator(tid('nav-permissions')).click();
      const createRole = async (name, price, isPublic) => {
        await o.locator(tid('role-create')).click();
        await fill(o, tid('role-new-name'), name);
        await fill(o, tid('role-new-price'), price);
        if (isPublic) await o.locator(`${tid('role-new-public')} input`).check();
        await withResponse(o, 'POST', /\/roles$/, () => o.locator(tid('role-submit')).click());
        const tile = o.locator(`[data-role="role-tile"][data-name="${name}"]`);
        await tile.waitFor();
        return tile;
      };
      const apiRole = await createRole('api-client', '0.25', false);
      await apiRole.locator(tid('role-permissions')).click();
      await o.locator(tid('perm-tab-nodes')).click();
      await o.locator(`${tid(`perm-node-${inputId}-package_create`)} input`).check();
      await o.locator(`${tid(`perm-node-${outputId}-package_view`)} input`).check();
      await withResponse(o, 'PATCH', /\/roles\/\d+$/, () => o.locator(tid('permissions-save')).click());
      await createRole('visitor', '0', true);
      await h.screenshot(o, '01-owner-permissions');

      // ---------- owner: template with three fields (insert-project-id and node-picker buttons) ----------
      await o.locator(tid('nav-api-keys')).click();
      await o.locator(tid('template-create')).click();
      await fill(o, tid('template-new-name'), 'Calculator key');
      if (lang === 'en') {
        // a key never holds project_manage: the owner role is listed but cannot be chosen
        await o.locator(tid('template-new-role')).click();
        const ownerOption = o.locator('.v-overlay--active .v-list-item').filter({ hasText: 'owner' }).first();
        await ownerOption.waitFor();
        assert(
          /v-list-item--disabled/.test((await ownerOption.getAttribute('class')) ?? ''),
          'the owner role is disabled in the template dialog',
        );
        assert(
          /Manage project/.test(await ownerOption.textContent()),
          'the disabled role says why (holds "Manage project")',
        );
        await o.locator('.v-overlay--active .v-list-item').filter({ hasText: 'api-client' }).first().click();
        await o
          .locator('.v-select__content')
          .first()
          .waitFor({ state: 'hidden' })
          .catch(() => undefined);
      } else await selectOption(o, tid('template-new-role'), 'api-client');
      // monthly quota per key: not a whole number ≥ 1 → a message and no CREATE; 1000 → sent as a number
      for (const bad of ['1.5', '0']) {
        await fill(o, tid('template-new-quota'), bad);
        await waitUntil(`quota "${bad}" refused`, async () =>
          L.quotaInvalid.test(await o.locator(`${tid('template-new-quota')} .v-messages`).textContent()),
        );
        assert(await o.locator(tid('template-submit')).isDisabled(), `CREATE disabled with quota "${bad}"`);
      }
      await fill(o, tid('template-new-quota'), '1000');
      await waitUntil('CREATE enabled', async () => o.locator(tid('template-submit')).isEnabled());
      const created = await withResponse(o, 'POST', /\/api-key-templates$/, () =>
        o.locator(tid('template-submit')).click(),
      );
      const sent = created.request().postDataJSON();
      assert(sent.monthly_quota === 1000, `quota sent as a number: ${JSON.stringify(sent)}`);
      assert((await created.json()).monthly_quota === 1000, 'the server keeps the quota');
      const tile = o.locator('[data-role="template-tile"][data-name="Calculator key"]');
      await tile.waitFor();
      const quotaText = () => tile.locator(tid('template-quota-text')).textContent().then(plain);
      await waitUntil('quota on the tile', async () => (await quotaText()) === L.quota1000);
      if (lang === 'en') {
        // edit the quota in place: cleared = unlimited (null), then 1000 again
        const quotaInput = tile.locator(`${tid('template-quota')} input`);
        await quotaInput.fill('');
        const cleared = await withResponse(o, 'PATCH', /\/api-key-templates\/\d+$/, () => quotaInput.press('Enter'));
        assert(cleared.request().postDataJSON().monthly_quota === null, 'an empty quota is sent as null');
        await waitUntil('unlimited', async () => (await quotaText()) === 'unlimited');
        await quotaInput.fill('1000');
        await withResponse(o, 'PATCH', /\/api-key-templates\/\d+$/, () => quotaInput.press('Enter'));
        await waitUntil('quota back on the tile', async () => (await quotaText()) === L.quota1000);
      }
      const desc = tile.locator(`${tid('template-description')} textarea:not([aria-hidden="true"])`);
      await desc.fill('Send numbers to the input node, read sums from the output node');
      await withResponse(o, 'PATCH', /\/api-key-templates\/\d+$/, () => desc.blur());
      const fields = tile.locator('[data-role="template-field"]');
      for (let i = 1; i <= 3; i++) {
        await withResponse(o, 'POST', /\/fields$/, () => tile.locator(tid('field-add')).click());
        await waitUntil(`${i} fields`, async () => (await fields.count()) === i);
      }
      const setField = async (i, name, fillValue) => {
        const row = fields.nth(i);
        const nameInput = row.locator(`${tid('field-name')} input`);
        await nameInput.fill(name);
        await withResponse(o, 'PATCH', /\/fields\/\d+$/, () => nameInput.press('Enter'));
        await fillValue(row);
      };
      const fieldValue = (row) => row.locator(`${tid('field-value')} input`).inputValue();
      await setField(0, 'project_id', async (row) => {
        await withResponse(o, 'PATCH', /\/fields\/\d+$/, () => row.locator(tid('field-insert-project')).click());
        await waitUntil('project id inserted', async () => (await fieldValue(row)) === String(projectId));
      });
      const pickNode = (search, name, id) => async (row) => {
        await row.locator(tid('field-insert-node')).click();
        await o.locator(`${tid('node-picker-search')} input`).fill(search);
        const item = o.locator(`[data-role="node-picker-item"][data-name="${name}"]`);
        await waitUntil(
          `picker shows only matches for "${search}"`,
          async () => (await o.locator('[data-role="node-picker-item"]').count()) === 1 && (await item.count()) === 1,
        );
        await withResponse(o, 'PATCH', /\/fields\/\d+$/, () => item.click());
        await waitUntil(`node ${name} inserted`, async () => (await fieldValue(row)) === String(id));
      };
      await setField(1, 'input_node', pickNode('inp', 'input', inputId));
      await setField(2, 'output_node', pickNode('outp', 'output', outputId));
      await h.screenshot(o, '02-owner-template');

      // ---------- client: account, own project, request from About ----------
      const client = await h.newUser('client');
      const c = client.page;
      await c.goto('/login');
      await setLanguage(c, lang);
      await signUp(c, clientUser);
      const clientProjectId = await createProject(c, `Workspace ${stamp}`);
      await c.goto('/projects');
      await c.locator(`[data-role="project-card"][data-name="${projectName}"]`).click();
      await c.waitForURL(new RegExp(`/projects/${projectId}/about$`));
      const keyTile = c.locator('[data-role="key-tile"][data-name="Calculator key"]');
      await keyTile.waitFor();
      const shownQuota = plain(await keyTile.locator(tid('key-quota')).textContent());
      assert(shownQuota === L.quota1000, `the requester sees the quota: "${shownQuota}"`);
      assert((await c.locator(tid('danger-zone')).count()) === 0, 'no danger zone without project_manage');
      // a visitor (the public role: project_view) sees About and Graph only
      const visitorNav = await navItems(c);
      assert(
        visitorNav.join(',') === 'about,graph',
        `visitor navigation is About and Graph, got ${visitorNav.join(',')}`,
      );
      // a typed URL of a managers' page says so instead of showing an empty page (and no "New template")
      await c.goto(`/projects/${projectId}/api-keys`);
      const denied = c.locator(tid('no-access'));
      await denied.waitFor();
      assert(L.noAccess.test(await denied.textContent()), 'no-access text');
      assert((await denied.textContent()).includes('project_manage'), 'the page names the permission it needs');
      assert((await c.locator(tid('template-create')).count()) === 0, 'a visitor has no "New template" button');
      await c.goto(`/projects/${projectId}/about`);
      await keyTile.waitFor();
      await withResponse(c, 'POST', /\/requests$/, () => keyTile.locator(tid('key-request')).click());
      await waitUntil('tile pending', async () => (await keyTile.getAttribute('data-state')) === 'pending');
      assert(L.waiting.test(await keyTile.locator(tid('key-state')).textContent()), 'waiting text');
      await h.screenshot(c, '03-client-pending');

      if (lang === 'en') {
        // cancel and request again; the owner rejects with a reason; the client sees it and asks again
        await withResponse(c, 'DELETE', /\/api-key-requests\/\d+$/, () => keyTile.locator(tid('key-cancel')).click());
        await waitUntil('tile available', async () => (await keyTile.getAttribute('data-state')) === 'available');
        await withResponse(c, 'POST', /\/requests$/, () => keyTile.locator(tid('key-request')).click());
        await waitUntil('tile pending again', async () => (await keyTile.getAttribute('data-state')) === 'pending');
        await o.locator(tid('requests-refresh')).click();
        const first = o.locator(`[data-role="request-row"][data-email="${clientUser.email}"]`);
        await first.locator(tid('request-reject')).click();
        await fill(o, tid('confirm-input'), 'tell us what you need it for');
        await withResponse(o, 'POST', /\/reject$/, () => o.locator(tid('confirm-ok')).click());
        await first.waitFor({ state: 'detached' });
        await waitUntil(
          'tile rejected (polled while pending)',
          async () => (await keyTile.getAttribute('data-state')) === 'rejected',
          20_000,
        );
        assert(
          (await keyTile.locator(tid('key-reason')).textContent()).includes('tell us what you need it for'),
          'rejection reason shown',
        );
        await withResponse(c, 'POST', /\/requests$/, () => keyTile.locator(tid('key-request')).click());
        await waitUntil('tile pending once more', async () => (await keyTile.getAttribute('data-state')) === 'pending');
      }

      // ---------- owner: notification (body in the UI's language) → Requests → approve ----------
      const notice = await newestNotification(o);
      assert(notice.kind === 'key_request.created', `newest notice ${notice.kind}`);
      assert(notice.title === L.newRequestTitle, `notice title "${notice.title}"`);
      const expectedBody = L.newRequestBody(clientUser, 'Calculator key', projectName);
      assert(notice.body === expectedBody, `notice body "${notice.body}", expected "${expectedBody}"`);
      if (lang === 'ru') await h.screenshot(o, '03b-owner-notification');
      await notice.item.click();
      await o.waitForURL(new RegExp(`/projects/${projectId}/api-keys#requests$`));
      const row = o.locator(`[data-role="request-row"][data-email="${clientUser.email}"]`);
      await row.waitFor();
      await h.screenshot(o, '04-owner-requests');
      await withResponse(o, 'POST', /\/approve$/, () => row.locator(tid('request-approve')).click());
      await snackbar(o, L.approved);
      await row.waitFor({ state: 'detached' });
      if (lang === 'en') {
        // the template's delete confirmation now warns about the one issued key (then cancel)
        await waitUntil(
          'one active key on the tile',
          async () => (await tile.locator(tid('template-keys')).textContent()).trim() === '1',
        );
        await tile.locator(tid('template-delete')).click();
        assert(
          /1 issued key will be revoked/.test(await o.locator(tid('confirm-text')).textContent()),
          'confirmation names 1 key',
        );
        await o.locator(tid('confirm-cancel')).click();

        // the api-client role now has a live key: widening it asks first, naming what is added
        await o.locator(tid('nav-permissions')).click();
        const apiTile = o.locator('[data-role="role-tile"][data-name="api-client"]');
        await waitUntil('the role counts its live key', async () =>
          /1 active key/.test((await apiTile.locator(tid('role-live-keys')).textContent()) ?? ''),
        );
        await apiTile.locator(tid('role-permissions')).click();
        await o.locator(`${tid('perm-project-graph_view')} input`).check();
        await o.locator(tid('permissions-save')).click();
        const widen = o.locator(tid('widen-card'));
        await widen.waitFor();
        const widenText = plain(await widen.locator(tid('confirm-text')).textContent());
        assert(
          widenText === 'This gives 1 active API key these additional permissions:',
          `widening text "${widenText}"`,
        );
        assert(
          plain(await widen.locator(tid('widen-list')).textContent()) === 'View graph',
          'the added permission is listed',
        );
        await withResponse(o, 'PATCH', /\/roles\/\d+$/, () => widen.locator(tid('confirm-ok')).click());
        await o.locator(tid('permissions-dialog')).waitFor({ state: 'hidden' });
        await o.locator(tid('nav-api-keys')).click();
        await o.locator(tid('api-keys-panel')).waitFor();
      }

      // ---------- client: Received → copy token to the clipboard ----------
      await c.locator(tid('offers-refresh')).click();
      await waitUntil('tile received', async () => (await keyTile.getAttribute('data-state')) === 'received');
      assert(L.received.test(await keyTile.locator(tid('key-state')).textContent()), 'received text');
      await c.bringToFront();
      await withResponse(c, 'GET', /\/me\/api-keys\/\d+\/token$/, () => keyTile.locator(tid('key-copy')).click());
      const token = await waitUntil('a JWT on the clipboard', async () => {
        const text = await c.evaluate(() => navigator.clipboard.readText());
        return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(text) ? text : false;
      });
      await snackbar(c, L.copied);
      await h.screenshot(c, '05-client-received');

      // ---------- client: import the key as secrets with a prefix ----------
      await c.goto(`/projects/${clientProjectId}/secrets`);
      await c.locator(tid('secrets-panel')).waitFor();
      await c.locator(tid('import-key')).click();
      await c.locator('[data-role="import-key-item"][data-name="Calculator key"]').click();
      await fill(c, tid('import-prefix'), 'CALC');
      await withResponse(c, 'POST', /\/secrets\/import-api-key$/, () => c.locator(tid('import-submit')).click());
      await snackbar(c, L.imported);
      for (const name of ['CALC_token', 'CALC_project_id', 'CALC_input_node', 'CALC_output_node']) {
        await c.locator(`[data-role="secret-tile"][data-name="${name}"]`).waitFor();
      }
      const projectSecret = c.locator('[data-role="secret-tile"][data-name="CALC_project_id"]');
      await withResponse(c, 'GET', /\/secrets\/\d+\/value$/, () => projectSecret.locator(tid('secret-eye')).click());
      await waitUntil(
        'revealed value',
        async () => (await projectSecret.locator(tid('secret-value')).textContent()).trim() === String(projectId),
      );
      await h.screenshot(c, '06-client-secrets');

      // ---------- a second import under the same prefix is stopped before it is sent ----------
      await c.locator(tid('import-key')).click();
      await c.locator('[data-role="import-key-item"][data-name="Calculator key"]').click();
      await fill(c, tid('import-prefix'), 'CALC');
      await waitUntil('the names already held are marked', async () => {
        const marked = await c.locator('[data-role="import-preview-name"][data-taken="1"]').count();
        return marked === 4;
      });
      assert(await c.locator(tid('import-submit')).isDisabled(), 'import disabled while names are taken');
      const prefixMsg = plain(await c.locator(`${tid('import-prefix')} .v-messages`).textContent());
      assert(L.prefixTaken.test(prefixMsg), `prefix message names the clash: ${prefixMsg}`);
      await fill(c, tid('import-prefix'), 'CALC2');
      await waitUntil('a free prefix clears the marks', async () => await c.locator(tid('import-submit')).isEnabled());
      await c.locator(`${tid('import-dialog')} ${tid('confirm-cancel')}`).click();

      // ---------- a program uses the token ----------
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${h.baseUrl}/api/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
        assert(r.status === 200, `whoami with the key -> ${r.status}`);
        const who = await r.json();
        assert(who.project_id === projectId, 'the key is bound to the owner project');
      }

      // ---------- owner: Issued keys shows the requests and the cost, then revokes ----------
      await o.locator(tid('tab-issued')).click();
      const issued = o.locator(`[data-role="issued-row"][data-email="${clientUser.email}"]`);
      await waitUntil('3 requests counted', async () => {
        await withResponse(o, 'GET', /\/issued-keys$/, () => o.locator(tid('issued-refresh')).click());
        return Number((await issued.getAttribute('data-requests', { timeout: 2000 })) ?? 0) >= 3;
      });
      const cost = (await issued.locator(tid('issued-cost')).textContent()).trim();
      assert(cost.includes(L.cost), `cost ${cost} shows ${L.cost}`);

      // ---------- client: the key tile shows how much of the monthly quota is used ----------
      await c.goto(`/projects/${projectId}/about`);
      const usedLine = keyTile.locator(tid('key-quota-used'));
      await waitUntil('quota use on the tile', async () => (await usedLine.getAttribute('data-used')) === '3');
      const usedText = await usedLine.textContent();
      assert(L.quotaUsed.test(usedText), `quota use text, got "${usedText}"`);
      await waitUntil(
        'chart counts the requests',
        async () => Number(await o.locator(tid('usage-chart')).getAttribute('data-total')) >= 3,
      );
      await h.screenshot(o, '07-owner-issued-keys');
      if (lang === 'en') {
        // pick a period in the calendar: the first to the last day of this month; the row and its count stay
        await o.locator(tid('period-picker')).click();
        const days = o.locator('.v-date-picker-month__day:not(.v-date-picker-month__day--adjacent) button');
        await days.first().click();
        await withResponse(o, 'GET', /\/issued-keys$/, () => days.last().click());
        await waitUntil('row still counted', async () => Number(await issued.getAttribute('data-requests')) >= 3);
      }
      await issued.locator(tid('issued-revoke')).click();
      await withResponse(o, 'DELETE', /\/issued-keys\/\d+$/, () => o.locator(tid('confirm-ok')).click());
      await snackbar(o, L.revokedToast);
      await waitUntil('row revoked', async () => (await issued.getAttribute('data-revoked')) === '1');

      // ---------- client: the tile shows revoked; the token no longer works ----------
      await c.goto(`/projects/${projectId}/about`);
      await waitUntil('tile revoked', async () => (await keyTile.getAttribute('data-state')) === 'revoked');
      assert(L.revoked.test(await keyTile.locator(tid('key-state')).textContent()), 'revoked text');
      // no reason typed: the server's default reason, shown in the UI's language
      const reasonText = await keyTile.locator(tid('key-reason')).textContent();
      assert(L.ownerReason.test(reasonText), `localized revocation reason, got "${reasonText}"`);
      await keyTile.locator(tid('key-request')).waitFor();
      await h.screenshot(c, '08-client-revoked');
      const revokedNotice = await newestNotification(c);
      assert(revokedNotice.kind === 'key.revoked', `client's newest notice ${revokedNotice.kind}`);
      assert(revokedNotice.title === L.revokedTitle, `revoked title "${revokedNotice.title}"`);
      const revokedBody = L.revokedBody('Calculator key', projectName);
      assert(revokedNotice.body === revokedBody, `revoked body "${revokedNotice.body}", expected "${revokedBody}"`);
      if (lang === 'ru') await h.screenshot(c, '08b-client-notification');
      await c.keyboard.press('Escape');
      const after = await waitUntil(
        'the revoked key is refused',
        async () => {
          const r = await fetch(`${h.baseUrl}/api/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
          return r.status === 401 ? r : false;
        },
        10_000,
      );
      assert(after.status === 401, 'revoked key gets 401');

      if (lang === 'en') {
        // deleting the template asks for confirmation naming the keys it revokes (none active now)
        await o.locator(tid('tab-templates')).click();
        await waitUntil(
          'no active keys on the tile',
          async () => (await tile.locator(tid('template-keys')).textContent()).trim() === '0',
        );
        await tile.locator(tid('template-delete')).click();
        const confirmText = await o.locator(tid('confirm-text')).textContent();
        assert(
          /No issued keys will be revoked/.test(confirmText),
          `delete confirmation names the count: ${confirmText}`,
        );
        await withResponse(o, 'DELETE', /\/api-key-templates\/\d+$/, () => o.locator(tid('confirm-ok')).click());
        await tile.waitFor({ state: 'detached' });
        await o.locator(tid('empty-state')).waitFor();

        // ---------- owner: delete the project (Danger zone on About; the name must be typed) ----------
        await o.locator(tid('nav-about')).click();
        await o.locator(tid('danger-zone')).waitFor();
        await o.locator(tid('project-delete')).click();
        const ok = o.locator(tid('confirm-ok'));
        assert(await ok.isDisabled(), 'delete disabled before the name is typed');
        await fill(o, tid('confirm-input'), 'Calculator');
        assert(await ok.isDisabled(), 'delete disabled with a wrong name');
        await fill(o, tid('confirm-input'), projectName);
        await waitUntil('delete enabled with the name', async () => ok.isEnabled());
        await h.screenshot(o, '09-owner-delete-project');
        await withResponse(o, 'DELETE', new RegExp(`/projects/${projectId}$`), () => ok.click());
        await snackbar(o, new RegExp(`Project "${projectName}" deleted`));
        await o.waitForURL(/\/projects$/);
        // other specs' public projects may be listed too: once the list is shown, this one must be gone
        await o
          .locator(`${tid('empty-state')}, [data-role="project-card"]`)
          .first()
          .waitFor();
        await waitUntil(
          'the project is gone from the list',
          async () => (await o.locator(`[data-role="project-card"][data-name="${projectName}"]`).count()) === 0,
        );
        // the client's old link now finds nothing (the browser logs the 404 of the project lookup)
        h.expectConsoleError(new RegExp(`status of 404 .*/api/projects/${projectId}\\)$`));
        await c.goto(`/projects/${projectId}/about`);
        await c.locator(tid('project-missing')).waitFor();
      }
    },
  };
}

export const specs = [lifecycle('en'), lifecycle('ru')];
