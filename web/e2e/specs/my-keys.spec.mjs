// My keys, in en and ru, with an owner and a key holder in their own browsers. The owner
// makes a template with a monthly quota and a spend cap (typed in the dialog, shown on the tile);
// the holder gets a key, imports it as secrets into their own project (granted to a node) and uses
// it. My keys (from the account menu) shows the key: project, status, requests and cost this month,
// quota and cap use, where it is imported, its info fields, a usage chart. The holder rolls it there
// (grace dialog: 24 hours by default, 1 hour chosen), sees the new token once (and copies it) and
// the rewritten secrets; the old key shows "replaced by #N, works until …", both tokens work, and
// the Secrets page reveals the new token in the imported secret. The owner is told (text in the UI's
// language) and sees the lineage in Issued keys.
// en: My keys is empty at first; the holder's own cap above the project's is refused at the field,
// a lower one is kept; the owner rolls the new key with no grace (its token stops at once, the
// holder is told and the notice leads to My keys); the holder revokes the newest key with a reason
// the owner reads. ru: the owner sets a cap of one key, then revokes it with a reason that the
// holder reads on My keys.
// Setup the other specs already drive through the UI (nodes, roles, request, approval, import) is
// done with the API from the signed-in pages.
import {
  accountMenu,
  api,
  assert,
  createProject,
  fill,
  newestNotification,
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
    cap: '5',
    capSent: '5',
    capShown: '5.00 USD',
    cost: '0.50 USD',
    capUse: 'Spend cap: 0.50 USD of 5.00 USD this month',
    quotaUse: 'Quota: 2 of 1,000 requests this month',
    replacedBy: (id) => new RegExp(`^Replaced by #${id}, works until .+`),
    rewritten: '1 imported secret now holds the new key:',
    copied: /new key is copied/,
    rolledByHolderTitle: 'An API key was rolled by its holder',
    rolledByHolder: (client, project) =>
      new RegExp(
        `^${esc(`${client.name} (${client.email}) rolled their API key "Calculator key" of project "${project}"; the old key works until `)}.+\\.$`,
      ),
    status: { active: 'active', expiring: 'expiring' },
  },
  ru: {
    cap: '5,5',
    capSent: '5.5',
    capShown: '5,50 USD',
    cost: '0,50 USD',
    capUse: 'Лимит расходов: 0,50 USD из 5,50 USD в этом месяце',
    quotaUse: 'Квота: 2 из 1 000 запросов в этом месяце',
    replacedBy: (id) => new RegExp(`^Заменён ключом #${id}, работает до .+`),
    rewritten: '1 импортированный секрет теперь содержит новый ключ:',
    copied: /Новый ключ скопирован/,
    rolledByHolderTitle: 'Владелец API-ключа заменил его',
    rolledByHolder: (client, project) =>
      new RegExp(
        `^${esc(`${client.name} (${client.email}) заменил(а) свой API-ключ «Calculator key» проекта «${project}»; старый ключ работает до `)}.+\\.$`,
      ),
    status: { active: 'действует', expiring: 'скоро истечёт' },
    revokeReason: 'ключ скомпрометирован',
    revokedNotice: (project) =>
      `Ваш API-ключ «Calculator key» проекта «${project}» отозван. Он больше не работает; можно запросить новый. Причина: ключ скомпрометирован`,
  },
};

function esc(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function whoami(h, token) {
  const r = await fetch(`${h.baseUrl}/api/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

function myKeys(lang) {
  const L = TEXT[lang];
  return {
    name: `my-keys-${lang}`,
    async run(h) {
      const stamp = `${lang}${Date.now().toString(36)}`;
      const ownerUser = { name: 'Oscar Owner', email: `mk-owner-${stamp}@e2e.test`, password: 'owner-password-1' };
      const clientUser = { name: 'Hanna Holder', email: `mk-holder-${stamp}@e2e.test`, password: 'holder-password-1' };
      const projectName = `Calculator ${stamp}`;
      const workspaceName = `Workspace ${stamp}`;

      // ---------- owner: project, node, priced role (API) ----------
      const owner = await h.newUser('owner');
      const o = owner.page;
      await o.goto('/login');
      await setLanguage(o, lang);
      await signUp(o, ownerUser);
      const projectId = await createProject(o, projectName, 'Adds numbers');
      await api(o, 'POST', `/projects/${projectId}/nodes`, { name: 'input', kind: 'input' });
      await api(o, 'POST', `/projects/${projectId}/roles`, {
        name: 'api-client',
        price_per_request: '0.25',
        permissions: { project: ['project_view'] },
      });
      // a public role lets every signed-in user see the project (and request its keys)
      await api(o, 'POST', `/projects/${projectId}/roles`, {
        name: 'visitor',
        is_public: true,
        permissions: { project: ['project_view'] },
      });

      // ---------- owner: template with a monthly quota and a spend cap, typed in the dialog ----------
      await o.goto(`/projects/${projectId}/api-keys`);
      await o.locator(tid('template-create')).click();
      await fill(o, tid('template-new-name'), 'Calculator key');
      await fill(o, tid('template-new-quota'), '1000');
      await fill(o, tid('template-new-cap'), '1.234');
      await waitUntil('a cap with 3 decimals refused', async () => o.locator(tid('template-submit')).isDisabled());
      await fill(o, tid('template-new-cap'), L.cap);
      await waitUntil('CREATE enabled', async () => o.locator(tid('template-submit')).isEnabled());
      const created = await withResponse(o, 'POST', /\/api-key-templates$/, () =>
        o.locator(tid('template-submit')).click(),
      );
      const sent = created.request().postDataJSON();
      assert(sent.monthly_spend_cap === L.capSent, `cap sent as decimal text: ${JSON.stringify(sent)}`);
      const template = await created.json();
      const tile = o.locator('[data-role="template-tile"][data-name="Calculator key"]');
      await tile.waitFor();
      await waitUntil(
        'the cap on the tile',
        async () => plain(await tile.locator(tid('template-cap-text')).textContent()) === L.capShown,
      );
      await api(o, 'POST', `/projects/${projectId}/api-key-templates/${template.id}/fields`, {
        name: 'project_id',
        description: 'the project to call',
        value: String(projectId),
      });

      // ---------- holder: account, own project with a node; My keys is empty at first ----------
      const client = await h.newUser('client');
      const c = client.page;
      await c.goto('/login');
      await setLanguage(c, lang);
      await signUp(c, clientUser);
      const workspaceId = await createProject(c, workspaceName);
      const runner = await api(c, 'POST', `/projects/${workspaceId}/nodes`, { name: 'runner', kind: 'compute' });
      if (lang === 'en') {
        await accountMenu(c, 'menu-my-keys');
        await c.waitForURL(/\/me\/keys$/);
        await c.locator(`${tid('my-keys-page')} ${tid('empty-state')}`).waitFor();
        await h.screenshot(c, '00-my-keys-empty');
      }

      // ---------- request → approval → import as secrets → two requests with the key (API) ----------
      const request = await api(c, 'POST', `/projects/${projectId}/api-key-templates/${template.id}/requests`);
      const issued = await api(o, 'POST', `/projects/${projectId}/api-key-requests/${request.id}/approve`);
      const keyId = issued.id;
      await api(c, 'POST', `/projects/${workspaceId}/secrets/import-api-key`, {
        key_id: keyId,
        prefix: 'CALC',
        node_ids: [runner.id],
      });
      const { token: oldToken } = await api(c, 'GET', `/me/api-keys/${keyId}/token`);
      for (let i = 0; i < 2; i++) assert((await whoami(h, oldToken)) === 200, 'the key works');

      // ---------- holder: My keys from the account menu ----------
      await c.goto('/projects');
      await accountMenu(c, 'menu-my-keys');
      await c.waitForURL(/\/me\/keys$/);
      const card = c.locator(tid(`my-key-${keyId}`));
      await card.waitFor();
      await waitUntil('2 requests counted', async () => {
        if ((await card.locator(tid('my-key-requests')).getAttribute('data-requests')) === '2') return true;
        await withResponse(c, 'GET', /\/me\/api-keys$/, () => c.locator(tid('my-keys-refresh')).click());
        return false;
      });
      assert((await card.getAttribute('data-state')) === 'active', 'the key is active');
      assert(plain(await card.locator(tid('my-key-status')).textContent()) === L.status.active, 'status chip');
      assert(plain(await card.locator(tid('my-key-project')).textContent()) === projectName, 'project named');
      assert(plain(await card.locator(tid('my-key-cost')).textContent()) === L.cost, 'cost this month');
      const quotaText = plain(await card.locator(`${tid('my-key-quota')} .text-body-2`).textContent());
      assert(quotaText === L.quotaUse, `quota use "${quotaText}"`);
      const capText = plain(await card.locator(`${tid('my-key-cap')} .text-body-2`).textContent());
      assert(capText === L.capUse, `cap use "${capText}"`);
      const imported = card.locator(`[data-role="my-key-import"][data-project="${workspaceId}"]`);
      await imported.waitFor();
      for (const name of ['CALC_token', 'CALC_project_id'])
        await imported.locator(`[data-role="my-key-secret"][data-name="${name}"]`).waitFor();
      assert((await imported.textContent()).includes(`#${runner.id}`), 'the node the secrets are granted to');
      const field = card.locator('[data-role="my-key-field"][data-name="project_id"]');
      assert(plain(await field.locator(tid('my-key-field-value')).textContent()) === String(projectId), 'info field');
      await c.bringToFront();
      await field.locator(tid('my-key-field-copy')).click();
      await waitUntil(
        'the field value on the clipboard',
        async () => (await c.evaluate(() => navigator.clipboard.readText())) === String(projectId),
      );
      await c.locator(tid('snackbar-close')).click();
      await card
        .locator(`${tid('my-key-usage')} button`)
        .first()
        .click();
      await waitUntil(
        'the chart counts the requests',
        async () => Number(await card.locator(tid('usage-chart')).getAttribute('data-total')) === 2,
      );
      // and below it the breakdown its managers see: both billed, both whoami (outcomes are written
      // every 2 s: closing and opening the panel reads them again)
      const mine = card.locator(tid('my-key-breakdown'));
      const panelButton = card.locator(`${tid('my-key-usage')} button`).first();
      await waitUntil(
        'the breakdown by outcome',
        async () => {
          const billed = mine.locator('[data-role="breakdown-outcome"][data-outcome="billed"]');
          if ((await billed.count()) && (await billed.getAttribute('data-requests')) === '2') return true;
          await panelButton.click();
          await panelButton.click();
          return false;
        },
        20_000,
        1000,
      );
      const op = mine.locator('[data-role="breakdown-operation"][data-operation="GET /api/auth/whoami"]');
      assert((await op.getAttribute('data-requests')) === '2', 'the breakdown by operation');
      await h.screenshot(c, '01-my-keys');

      if (lang === 'en') {
        // my own cap: above the project's is refused at the field; a lower one is kept
        h.expectConsoleError(new RegExp(`status of 400 .*/api/me/api-keys/${keyId}\\)$`));
        await card.locator(tid('my-key-cap-edit')).click();
        await fill(c, tid('spend-cap-input'), '10');
        await withResponse(c, 'PATCH', new RegExp(`/me/api-keys/${keyId}$`), () =>
          c.locator(tid('spend-cap-save')).click(),
        ).catch((e) => assert(/-> 400/.test(e.message), `a cap above the project's is refused: ${e.message}`));
        await waitUntil('the refusal at the field', async () =>
          /may only lower the cap the project set/.test(
            await c.locator(`${tid('spend-cap-input')} .v-messages`).textContent(),
          ),
        );
        await fill(c, tid('spend-cap-input'), '2');
        await withResponse(c, 'PATCH', new RegExp(`/me/api-keys/${keyId}$`), () =>
          c.locator(tid('spend-cap-save')).click(),
        );
        await snackbar(c, /Spend cap saved/);
        await waitUntil(
          'my cap applies',
          async () => (await card.locator(tid('my-key-cap')).getAttribute('data-cap')) === '2.00',
        );
        assert(/your own cap 2\.00 USD/.test(await card.locator(tid('my-key-own-cap')).textContent()), 'own cap shown');
      }

      // ---------- holder: roll from My keys (grace: 24 h by default, 1 hour chosen) ----------
      await card.locator(tid('my-key-roll')).click();
      const dialog = c.locator(tid('roll-dialog'));
      await dialog.waitFor();
      assert(await dialog.locator(`${tid('roll-grace-86400')} input`).isChecked(), '24 hours by default');
      await dialog.locator(`${tid('roll-grace-3600')} input`).check();
      await h.screenshot(c, '02-roll-dialog');
      const rolledRes = await withResponse(c, 'POST', new RegExp(`/me/api-keys/${keyId}/roll$`), () =>
        dialog.locator(tid('roll-submit')).click(),
      );
      assert(rolledRes.request().postDataJSON().grace_seconds === 3600, 'grace of 1 hour sent');
      const result = dialog.locator(tid('roll-result'));
      await result.waitFor();
      const newKeyId = Number(await result.getAttribute('data-new-key'));
      assert(
        newKeyId > keyId && Number(await result.getAttribute('data-old-key')) === keyId,
        'a new key replaced the old',
      );
      const newToken = (
        await dialog
          .locator(`${tid('roll-token')} textarea`)
          .first()
          .inputValue()
      ).trim();
      assert(/^[\w-]+\.[\w-]+\.[\w-]+$/.test(newToken) && newToken !== oldToken, 'the new token is shown');
      const rewritten = dialog.locator(tid('roll-rewritten'));
      assert(plain(await rewritten.textContent()) === L.rewritten, `rewritten "${await rewritten.textContent()}"`);
      // the token secret gets the new token; the info-field secrets keep their values (and follow the key)
      await dialog
        .locator(`[data-role="roll-secret"][data-name="CALC_token"][data-project="${workspaceId}"]`)
        .waitFor();
      assert((await dialog.locator('[data-role="roll-secret"]').count()) === 1, 'only the token secret is rewritten');
      await dialog.locator(tid('roll-token-copy')).click();
      await waitUntil(
        'the new token on the clipboard',
        async () => (await c.evaluate(() => navigator.clipboard.readText())) === newToken,
      );
      await snackbar(c, L.copied);
      await h.screenshot(c, '03-roll-done');
      await dialog.locator(tid('roll-close')).click();
      await dialog.waitFor({ state: 'hidden' });

      // the old key: replaced by the new one, working until the grace ends; the new one: imported instead
      await waitUntil(
        'the old key is replaced',
        async () => (await card.getAttribute('data-rolled-to')) === String(newKeyId),
      );
      assert((await card.getAttribute('data-state')) === 'expiring', 'the old key is on its way out');
      assert(plain(await card.locator(tid('my-key-status')).textContent()) === L.status.expiring, 'expiring chip');
      const replaced = plain(await card.locator(tid('my-key-rolled')).textContent());
      assert(L.replacedBy(newKeyId).test(replaced), `"${replaced}"`);
      assert((await card.locator('[data-role="my-key-import"]').count()) === 0, 'no secret holds the old key now');
      const newCard = c.locator(tid(`my-key-${newKeyId}`));
      await newCard.waitFor();
      assert((await newCard.getAttribute('data-rolled-from')) === String(keyId), 'the new key names the old one');
      await newCard
        .locator(
          `[data-role="my-key-import"][data-project="${workspaceId}"] [data-role="my-key-secret"][data-name="CALC_token"]`,
        )
        .waitFor();
      await h.screenshot(c, '04-my-keys-rolled');
      assert((await whoami(h, newToken)) === 200, 'the new token works at once');
      assert((await whoami(h, oldToken)) === 200, 'the old token works during the grace period');

      // ---------- holder: the imported secret now holds the new token ----------
      await c.goto(`/projects/${workspaceId}/secrets`);
      const tokenSecret = c.locator('[data-role="secret-tile"][data-name="CALC_token"]');
      await tokenSecret.waitFor();
      await withResponse(c, 'GET', /\/secrets\/\d+\/value$/, () => tokenSecret.locator(tid('secret-eye')).click());
      await waitUntil(
        'the secret reveals the new token',
        async () => (await tokenSecret.locator(tid('secret-value')).textContent()).trim() === newToken,
      );
      await h.screenshot(c, '05-secrets-new-token');

      // ---------- owner: told in the UI's language; Issued keys shows the lineage ----------
      const notice = await newestNotification(o);
      assert(notice.kind === 'key.rolled_by_holder', `owner's newest notice ${notice.kind}`);
      assert(notice.title === L.rolledByHolderTitle, `title "${notice.title}"`);
      assert(L.rolledByHolder(clientUser, projectName).test(notice.body), `body "${notice.body}"`);
      await o.keyboard.press('Escape');
      await o.goto(`/projects/${projectId}/api-keys?tab=issued`);
      const oldRow = o.locator(tid(`issued-${keyId}`));
      const newRow = o.locator(tid(`issued-${newKeyId}`));
      await oldRow.waitFor();
      await newRow.waitFor();
      assert((await oldRow.getAttribute('data-rolled-to')) === String(newKeyId), 'old row: replaced by');
      assert((await newRow.getAttribute('data-rolled-from')) === String(keyId), 'new row: replaces');
      assert(
        (await oldRow.locator(tid('issued-lineage')).textContent()).includes(`#${newKeyId}`),
        'the lineage is shown',
      );
      assert((await oldRow.locator(tid('issued-roll')).count()) === 0, 'a replaced key cannot be rolled again');
      await h.screenshot(o, '06-owner-issued-lineage');

      if (lang === 'en') {
        // ---------- owner rolls the new key with no grace: its token stops, the holder is told ----------
        await newRow.locator(tid('issued-roll')).click();
        const ownerDialog = o.locator(tid('roll-dialog'));
        await ownerDialog.waitFor();
        await ownerDialog.locator(`${tid('roll-grace-0')} input`).check();
        await h.screenshot(o, '07-owner-roll-dialog');
        await withResponse(o, 'POST', new RegExp(`/issued-keys/${newKeyId}/roll$`), () =>
          ownerDialog.locator(tid('roll-submit')).click(),
        );
        const ownerResult = ownerDialog.locator(tid('roll-result'));
        await ownerResult.waitFor();
        const thirdKeyId = Number(await ownerResult.getAttribute('data-new-key'));
        assert((await ownerDialog.locator(tid('roll-token')).count()) === 0, 'a manager never sees a token');
        assert(
          /no longer works/.test(await ownerDialog.locator(tid('roll-old-until')).textContent()),
          'no grace: the old key stopped',
        );
        assert(
          (await ownerDialog.locator(tid('roll-rewritten')).getAttribute('data-count')) === '1',
          'the token secret rewritten',
        );
        await ownerDialog.locator(tid('roll-close')).click();
        await waitUntil('the second token is refused', async () => (await whoami(h, newToken)) === 401, 10_000);

        const rolledNotice = await newestNotification(c);
        assert(rolledNotice.kind === 'key.rolled', `holder's newest notice ${rolledNotice.kind}`);
        assert(rolledNotice.title === 'Your API key was rolled', `title "${rolledNotice.title}"`);
        assert(
          new RegExp(
            `^${esc(`A manager of project "${projectName}" rolled your API key "Calculator key". The old key works until `)}.+; 1 imported secret now holds the new key\\. Copy the new key on My keys\\.$`,
          ).test(rolledNotice.body),
          `body "${rolledNotice.body}"`,
        );
        await rolledNotice.item.click();
        await c.waitForURL(/\/me\/keys$/);
        const thirdCard = c.locator(tid(`my-key-${thirdKeyId}`));
        await thirdCard.waitFor();

        // ---------- the holder revokes the newest key with a reason the owner reads ----------
        await thirdCard.locator(tid('my-key-revoke')).click();
        const confirm = c.locator(tid('my-key-revoke-card'));
        await confirm.waitFor();
        await fill(c, `${tid('my-key-revoke-card')} ${tid('confirm-input')}`, 'moving to another provider');
        await withResponse(c, 'DELETE', new RegExp(`/me/api-keys/${thirdKeyId}$`), () =>
          confirm.locator(tid('confirm-ok')).click(),
        );
        await snackbar(c, /Key revoked/);
        await waitUntil('revoked on My keys', async () => (await thirdCard.getAttribute('data-state')) === 'revoked');
        assert(
          /Reason: moving to another provider/.test(await thirdCard.locator(tid('my-key-revoked')).textContent()),
          'my reason is shown',
        );
        const revokedNotice = await newestNotification(o);
        assert(revokedNotice.kind === 'key.revoked_by_holder', `owner's newest notice ${revokedNotice.kind}`);
        assert(revokedNotice.title === 'An API key was revoked by its holder', `title "${revokedNotice.title}"`);
        const expected = `${clientUser.name} (${clientUser.email}) revoked their API key "Calculator key" of project "${projectName}". Reason: moving to another provider`;
        assert(revokedNotice.body === expected, `body "${revokedNotice.body}"`);
      } else {
        // ---------- the owner sets a cap of the new key (replacing the template's) ----------
        assert(
          (await newRow.locator(tid('issued-cap')).getAttribute('data-cap')) === '5.50',
          'the template cap applies',
        );
        await newRow.locator(tid('issued-cap')).click();
        await fill(o, tid('spend-cap-input'), '3');
        const capped = await withResponse(o, 'PATCH', new RegExp(`/issued-keys/${newKeyId}$`), () =>
          o.locator(tid('spend-cap-save')).click(),
        );
        assert(capped.request().postDataJSON().monthly_spend_cap === '3', 'the cap is sent');
        await snackbar(o, /Лимит расходов сохранён/);
        await waitUntil(
          'the key’s cap applies',
          async () => (await newRow.locator(tid('issued-cap')).getAttribute('data-cap')) === '3.00',
        );

        // ---------- the owner revokes the new key with a reason; the holder reads it on My keys ----------
        await newRow.locator(tid('issued-revoke')).click();
        await fill(o, tid('confirm-input'), L.revokeReason);
        const del = await withResponse(o, 'DELETE', new RegExp(`/issued-keys/${newKeyId}$`), () =>
          o.locator(tid('confirm-ok')).click(),
        );
        assert(del.request().postDataJSON().reason === L.revokeReason, 'the reason is sent');
        await waitUntil('row revoked', async () => (await newRow.getAttribute('data-revoked')) === '1');
        await c.goto('/me/keys');
        await newCard.waitFor();
        await waitUntil('revoked on My keys', async () => (await newCard.getAttribute('data-state')) === 'revoked');
        assert(
          (await newCard.locator(tid('my-key-revoked')).textContent()).includes(L.revokeReason),
          'the owner’s reason is shown to the holder',
        );
        await h.screenshot(c, '07-my-keys-revoked');
        const revokedNotice = await newestNotification(c);
        assert(revokedNotice.kind === 'key.revoked', `holder's newest notice ${revokedNotice.kind}`);
        assert(revokedNotice.body === L.revokedNotice(projectName), `body "${revokedNotice.body}"`);
        await waitUntil('the revoked token is refused', async () => (await whoami(h, newToken)) === 401, 10_000);
      }
    },
  };
}

export const specs = [myKeys('en'), myKeys('ru')];
