// Editing a key template in place, in en and ru: inputs show the server's length limits (a counter);
// every saved change says "Saved" (adding and renaming a field too); a refused edit — a field
// renamed "token" (reserved by the key import), a name longer than the server takes — is worded at
// its field in the UI's language, and the field shows the saved value again, as the server kept it.
// Deleting a field asks first.
import {
  assert,
  createProject,
  fill,
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
    saved: /^\s*Saved\s*$/,
    notSaved: /^Not saved: /,
    reserved: /This name is reserved/,
    maxLength: /At most 100 characters/,
    deleteTitle: 'Delete the field "endpoint"?',
    deleted: /Field deleted/,
  },
  ru: {
    saved: /^\s*Сохранено\s*$/,
    notSaved: /^Не сохранено: /,
    reserved: /Это имя зарезервировано/,
    maxLength: /Не больше 100 символов/,
    deleteTitle: 'Удалить поле «endpoint»?',
    deleted: /Поле удалено/,
  },
};

/** The messages shown under an input (its rule, or why the server refused it). */
const messages = (scope, testid) =>
  scope
    .locator(`${tid(testid)} .v-messages__message`)
    .allTextContents()
    .then((l) => l.join(' ').trim());

function templateEditingSpec(lang) {
  const L = TEXT[lang];
  return {
    name: `template-editing-${lang}`,
    async run(h) {
      const stamp = `${lang}${Date.now().toString(36)}`;
      const { page: o } = await h.newUser('owner');
      await o.goto('/login');
      await setLanguage(o, lang);
      await signUp(o, { name: 'Tess Template', email: `tpl-${stamp}@e2e.test`, password: 'owner-password-1' });
      await createProject(o, `Templates ${stamp}`);

      // a role a key may hold
      await o.locator(tid('nav-permissions')).click();
      await o.locator(tid('role-create')).click();
      await fill(o, tid('role-new-name'), 'api-client');
      await fill(o, tid('role-new-price'), '0.01');
      await withResponse(o, 'POST', /\/roles$/, () => o.locator(tid('role-submit')).click());

      // ---------- the new-template dialog shows the server's name limit ----------
      await o.locator(tid('nav-api-keys')).click();
      await o.locator(tid('template-create')).click();
      await fill(o, tid('template-new-name'), 'Calculator API');
      const counter = await o.locator(`${tid('template-new-name')} .v-counter`).textContent();
      assert(/14\s*\/\s*100/.test(counter ?? ''), `the name counter shows 14 / 100 (got "${counter}")`);
      assert(
        (await o.locator(`${tid('template-new-name')} input`).getAttribute('maxlength')) === '100',
        'the name input takes at most 100 characters',
      );
      await fill(o, tid('template-new-description'), 'Sums two numbers');
      await selectOption(o, tid('template-new-role'), 'api-client');
      const createdRes = await withResponse(o, 'POST', /\/api-key-templates$/, () =>
        o.locator(tid('template-submit')).click(),
      );
      const created = await createdRes.json();
      assert(created.description === 'Sums two numbers', `the dialog sends the description: ${created.description}`);
      const tile = o.locator('[data-role="template-tile"][data-name="Calculator API"]');
      await tile.waitFor();
      await snackbar(o, /./);

      // ---------- adding and renaming a field say "Saved" ----------
      const fields = tile.locator('[data-role="template-field"]');
      await withResponse(o, 'POST', /\/fields$/, () => tile.locator(tid('field-add')).click());
      await snackbar(o, L.saved);
      const row = fields.first();
      const nameInput = row.locator(`${tid('field-name')} input`);
      await nameInput.fill('endpoint');
      assert((await nameInput.getAttribute('maxlength')) === '64', 'a field name takes at most 64 characters');
      await withResponse(o, 'PATCH', /\/fields\/\d+$/, () => nameInput.press('Enter'));
      await snackbar(o, L.saved);
      await waitUntil('the row carries the new name', async () => (await row.getAttribute('data-name')) === 'endpoint');

      // ---------- a refused rename: worded at the field in the UI language, the saved name back ----------
      h.expectConsoleError(/status of 400/);
      await nameInput.fill('token');
      const [refused] = await Promise.all([
        o.waitForResponse((r) => r.request().method() === 'PATCH' && /\/fields\/\d+$/.test(new URL(r.url()).pathname)),
        nameInput.press('Enter'),
      ]);
      assert(refused.status() === 400, `"token" is refused (got ${refused.status()})`);
      assert((await refused.json()).error.keyword === 'reserved', 'the answer says why: reserved');
      const said = await waitUntil('the refusal at the field name', async () => {
        const text = await messages(row, 'field-name');
        return L.notSaved.test(text) && L.reserved.test(text) ? text : false;
      });
      h.log(`refused at the field: ${said}`);
      assert((await nameInput.inputValue()) === 'endpoint', 'the field shows the saved name again');
      assert((await row.locator(tid('field-name')).getAttribute('data-refused')) === 'true', 'marked as refused');
      assert(
        (await o.locator(`${tid('snackbar')} .v-snackbar__content`).count()) === 0 ||
          !L.saved.test((await o.locator(`${tid('snackbar')} .v-snackbar__content`).allTextContents()).join(' ')),
        'no "Saved" for a refused edit',
      );
      await h.screenshot(o, '01-refused-field-name');
      // typing again clears the refusal
      await nameInput.fill('endpoint_url');
      await waitUntil('the refusal cleared', async () => !L.notSaved.test(await messages(row, 'field-name')));
      await nameInput.fill('endpoint');
      await nameInput.blur();

      // ---------- a name longer than the server takes (past the input's own limit): worded, restored ----------
      h.expectConsoleError(/status of 400/);
      const tplName = tile.locator(`${tid('template-name')} input`);
      await tplName.evaluate((el) => el.removeAttribute('maxlength'));
      await tplName.fill('C'.repeat(101));
      const [tooLong] = await Promise.all([
        o.waitForResponse(
          (r) => r.request().method() === 'PATCH' && /\/api-key-templates\/\d+$/.test(new URL(r.url()).pathname),
        ),
        tplName.press('Enter'),
      ]);
      assert(tooLong.status() === 400, `a 101-character name is refused (got ${tooLong.status()})`);
      const longSaid = await waitUntil('the length refusal at the name', async () => {
        const text = await messages(tile, 'template-name');
        return L.maxLength.test(text) ? text : false;
      });
      h.log(`refused at the name: ${longSaid}`);
      assert(!/must NOT have/.test(longSaid), 'no validator English');
      assert((await tplName.inputValue()) === 'Calculator API', 'the name shows the saved one again');
      await h.screenshot(o, '02-refused-name-length');

      // ---------- deleting a field asks first ----------
      await row.locator(tid('field-delete')).click();
      const confirm = o.locator(tid('field-delete-confirm'));
      await confirm.waitFor();
      const title = (await confirm.locator('.v-card-title').textContent())?.trim();
      assert(title === L.deleteTitle, `the confirmation names the field (got "${title}")`);
      await h.screenshot(o, '03-delete-field-confirm');
      await withResponse(o, 'DELETE', /\/fields\/\d+$/, () => confirm.locator(tid('confirm-ok')).click());
      await snackbar(o, L.deleted);
      await waitUntil('the field is gone', async () => (await fields.count()) === 0);
    },
  };
}

export const specs = [templateEditingSpec('en'), templateEditingSpec('ru')];
