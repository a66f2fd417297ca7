// Small helpers over playwright-core (which has no `expect`): polling waits and Vuetify inputs.
export const tid = (id) => `[data-testid="${id}"]`;

export async function waitUntil(what, fn, timeout = 20_000, interval = 200) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(
    `timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
  );
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** Waits for the next API response matching method + path regex, while running `action`. */
export async function withResponse(page, method, pathRe, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && pathRe.test(new URL(r.url()).pathname)),
    action(),
  ]);
  if (res.status() >= 400) throw new Error(`${method} ${res.url()} -> ${res.status()} ${await res.text()}`);
  return res;
}

/** Picks an option of a Vuetify v-select by its visible text. */
export async function selectOption(page, selector, text) {
  await page.locator(selector).click();
  const option = page.locator('.v-overlay--active .v-list-item').filter({ hasText: text }).first();
  await option.click();
  // single selects close their menu by themselves; never press Escape (it would close a dialog)
  await page
    .locator('.v-select__content')
    .first()
    .waitFor({ state: 'hidden' })
    .catch(() => undefined);
}

export async function fill(page, selector, value) {
  const input = page.locator(`${selector} input, ${selector} textarea:not([aria-hidden="true"])`).first();
  await input.fill(value);
  return input;
}

export async function inputValue(page, selector) {
  return page.locator(`${selector} input`).first().inputValue();
}

/** Waits for the snackbar and closes it (unless `keep`) so it does not cover the next action. */
export async function snackbar(page, re, { keep = false } = {}) {
  const bar = page.locator(`${tid('snackbar')} .v-snackbar__content`);
  const text = await waitUntil(`a snackbar matching ${re}`, async () => {
    const t = (await bar.allTextContents()).join(' ');
    return re.test(t) ? t : false;
  }).catch(async (e) => {
    const shown = (await bar.allTextContents()).join(' ');
    const overlays = (await page.locator('.v-overlay--active').allTextContents()).join(' | ');
    throw new Error(`${e.message}; snackbar now "${shown}"; active overlays "${overlays}"`);
  });
  if (!keep)
    await page
      .locator(tid('snackbar-close'))
      .click()
      .catch(() => undefined);
  return text;
}

export async function setLanguage(page, lang) {
  await page.locator(tid('lang-switch')).click();
  await page.locator(tid(`lang-${lang}`)).click();
  await waitUntil(`html lang=${lang}`, async () => (await page.locator('html').getAttribute('lang')) === lang);
}

export async function signUp(page, { name, email, password }) {
  await page.goto('/signup');
  await fill(page, tid('signup-name'), name);
  await fill(page, tid('signup-email'), email);
  await fill(page, tid('signup-password'), password);
  await page.locator(tid('signup-submit')).click();
  await page.waitForURL(/\/projects$/);
}

export async function createProject(page, name, description = '') {
  await page.goto('/projects');
  await page.locator(tid('project-create')).click();
  await fill(page, tid('project-name'), name);
  if (description) await fill(page, tid('project-description'), description);
  await page.locator(tid('project-submit')).click();
  await page.waitForURL(/\/projects\/\d+\/about$/);
  return Number(/\/projects\/(\d+)\//.exec(page.url())[1]);
}

/** Text with the locale's grouping spaces (NBSP, narrow NBSP) as plain spaces. */
export const plain = (s) => (s ?? '').replace(/[\u00a0\u202f]/g, ' ').trim();

/** Opens the bell and returns the newest notification's kind, title and body as shown. */
export async function newestNotification(page) {
  await page.locator(tid('notifications-bell')).click();
  const item = page.locator(tid('notification-item')).first();
  await item.waitFor();
  return {
    item,
    kind: await item.getAttribute('data-kind'),
    title: plain(await item.locator(tid('notification-title')).textContent()),
    body: plain(await item.locator(tid('notification-body')).textContent()),
  };
}

/** Signs in through the login form and waits for the project list. */
export async function signIn(page, { email, password }) {
  await page.goto('/login');
  await fill(page, tid('login-email'), email);
  await fill(page, tid('login-password'), password);
  await page.locator(tid('login-submit')).click();
  await page.waitForURL(/\/projects$/);
}

/** Opens the account menu and picks one of its items. */
export async function accountMenu(page, item) {
  await page.locator(tid('user-menu')).click();
  await page.locator(tid(item)).click();
}

/** The project page's drawer items shown, by section name (about, graph, secrets, …). */
export async function navItems(page) {
  await page.locator(tid('nav-about')).waitFor();
  const ids = await page.locator('[data-testid^="nav-"]').evaluateAll((els) => els.map((e) => e.dataset.testid));
  return ids.map((id) => id.replace(/^nav-/, ''));
}

/** A JSON call of the signed-in page's session (CSRF header included); throws on an error answer. */
export async function api(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const me = await (await fetch('/api/auth/me')).json();
      const send = body ?? (method === 'GET' ? undefined : {});
      const r = await fetch(`/api${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: send === undefined ? undefined : JSON.stringify(send),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path} -> ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    { method, path, body },
  );
}
