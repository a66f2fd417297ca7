// The approval workflow through the UI, in en and ru: the owner gives a template terms and a
// required request field (TemplateApprovalSettings), a requester reads the terms in the request
// dialog, cannot send before accepting and filling in the field, sends; the owner sees the value
// under its label and "terms accepted" in the requests table and in the bell's notice, and
// approves. In en also: an auto-approving template whose key the requester receives at once.
import {
  api,
  assert,
  createProject,
  fill,
  newestNotification,
  setLanguage,
  signUp,
  snackbar,
  tid,
  waitUntil,
  withResponse,
} from '../lib.mjs';

const TEXT = {
  en: {
    terms: 'Research use only.\nNo resale of results.',
    label: 'Organisation',
    saved: /Approval settings saved/,
    requested: /Request sent/,
    dialogTitle: 'Request "Data key"',
    termsAccepted: /terms accepted/,
    noticeTerms: /The terms were accepted\./,
    approved: /Key issued/,
    atOnce: /Approved at once/,
    auto: 'Approve at once',
  },
  ru: {
    terms: 'Только для исследований.\nПерепродажа результатов запрещена.',
    label: 'Организация',
    saved: /Настройки одобрения сохранены/,
    requested: /Запрос отправлен/,
    dialogTitle: 'Запрос «Data key»',
    termsAccepted: /условия приняты/,
    noticeTerms: /Условия приняты\./,
    approved: /Ключ выдан/,
    atOnce: /Одобрено сразу/,
    auto: 'Одобрять сразу',
  },
};

function approvalSpec(lang) {
  const L = TEXT[lang];
  return {
    name: `approval-${lang}`,
    async run(h) {
      const stamp = `${lang}${Date.now().toString(36)}`;
      const { page: o } = await h.newUser('owner');
      await o.goto('/login');
      await setLanguage(o, lang);
      await signUp(o, { name: 'Olga Owner', email: `appr-owner-${stamp}@e2e.test`, password: 'owner-password-1' });
      const projectId = await createProject(o, `Approvals ${stamp}`);
      const role = await api(o, 'POST', `/projects/${projectId}/roles`, {
        name: 'caller',
        permissions: { project: ['project_view'] },
      });
      await api(o, 'POST', `/projects/${projectId}/roles`, {
        name: 'visitor',
        is_public: true,
        permissions: { project: ['project_view'] },
      });
      const tpl = await api(o, 'POST', `/projects/${projectId}/api-key-templates`, {
        name: 'Data key',
        role_id: role.id,
        description: 'Reads the data set',
      });

      // ---------- owner: terms and a required request field ----------
      await o.goto(`/projects/${projectId}/api-keys`);
      const tile = o.locator(tid(`template-tile-${tpl.id}`));
      await tile.waitFor();
      await tile.locator(tid('approval-settings-toggle')).click();
      await fill(tile, tid('approval-terms'), L.terms);
      await tile.locator(tid('approval-field-add')).click();
      const row = tile.locator(tid('approval-field-0'));
      await fill(row, tid('approval-field-name'), 'organisation');
      await fill(row, tid('approval-field-label'), L.label);
      await row.locator(`${tid('approval-field-required')} input`).check();
      await withResponse(o, 'PATCH', new RegExp(`/api-key-templates/${tpl.id}$`), () =>
        tile.locator(tid('approval-save')).click(),
      );
      await snackbar(o, L.saved, { keep: true });
      await h.screenshot(o, '01-owner-approval-settings');

      // ---------- requester: the dialog with terms and the field ----------
      const { page: c } = await h.newUser('requester');
      await c.goto('/login');
      await setLanguage(c, lang);
      await signUp(c, { name: 'Rita Requester', email: `appr-req-${stamp}@e2e.test`, password: 'client-password-1' });
      await c.goto(`/projects/${projectId}/about`);
      const key = c.locator(tid(`key-tile-${tpl.id}`));
      await key.waitFor();
      await key.locator(tid('key-request')).click();
      const dialog = c.locator(tid('request-dialog'));
      await dialog.waitFor();
      assert((await dialog.textContent()).includes(L.dialogTitle), `dialog title ${L.dialogTitle}`);
      const termsShown = await dialog.locator(tid('request-terms')).textContent();
      assert(termsShown.trim() === L.terms, `terms shown as written: ${JSON.stringify(termsShown)}`);
      const send = dialog.locator(tid('request-send'));
      assert(await send.isDisabled(), 'send waits for the terms and the required field');
      await fill(dialog, tid('request-field-organisation'), 'ACME Labs');
      assert(await send.isDisabled(), 'send still waits for the terms');
      await dialog.locator(`${tid('request-accept-terms')} input`).check();
      await h.screenshot(c, '02-request-dialog');
      await withResponse(c, 'POST', /\/requests$/, () => send.click());
      await snackbar(c, L.requested);
      await waitUntil('the tile waits', async () => (await key.getAttribute('data-state')) === 'pending');
      await h.screenshot(c, '03-requester-pending');

      // ---------- owner: the value and the accepted terms in the requests table ----------
      await o.reload();
      const reqRow = o.locator('[data-role="request-row"]').first();
      await reqRow.waitFor();
      const value = await reqRow.locator(tid('request-value-organisation')).textContent();
      assert(value.includes(`${L.label}: ACME Labs`), `field shown under the owner's label: ${value}`);
      assert(
        L.termsAccepted.test(await reqRow.locator(tid('request-terms-accepted')).textContent()),
        'terms accepted shown',
      );
      // the bell's notice carries the value and the acceptance, in the owner's language
      const notice = await newestNotification(o);
      assert(notice.kind === 'key_request.created', `newest notice: ${notice.kind}`);
      assert(notice.body.includes(`${L.label}: "ACME Labs"`), `notice shows the field: ${notice.body}`);
      assert(L.noticeTerms.test(notice.body), `notice says the terms were accepted: ${notice.body}`);
      await o.keyboard.press('Escape');
      await reqRow.scrollIntoViewIfNeeded();
      await h.screenshot(o, '04-owner-requests');
      await withResponse(o, 'POST', /\/approve$/, () => reqRow.locator(tid('request-approve')).click());
      await snackbar(o, L.approved);

      if (lang === 'en') {
        // an auto-approving template: the key is there at once
        const auto = await api(o, 'POST', `/projects/${projectId}/api-key-templates`, {
          name: 'Open key',
          role_id: role.id,
          approval: 'auto',
        });
        await c.reload();
        const openTile = c.locator(tid(`key-tile-${auto.id}`));
        await openTile.waitFor();
        await withResponse(c, 'POST', /\/requests$/, () => openTile.locator(tid('key-request')).click());
        await snackbar(c, L.atOnce);
        await waitUntil('the key is received', async () => (await openTile.getAttribute('data-state')) === 'received');
        await h.screenshot(c, '05-requester-auto-approved');
      }
    },
  };
}

export const specs = [approvalSpec('en'), approvalSpec('ru')];
