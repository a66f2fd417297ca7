// Project settings → Webhooks, in en and ru: a manager sees the section (only managers do), adds
// an endpoint to a receiver this spec runs on 127.0.0.1 (loopback only: the e2e server allows
// http to 127.0.0.1 and nothing else), a `localhost` URL being refused at the URL field first. The
// `whsec_…` secret is shown once with a warning, copied to the clipboard, and gone once the dialog
// is closed. "Send test" queues a `webhook.test` event; the receiver gets it signed with that
// secret, and the delivery log shows it delivered with status 200. en: the description is edited
// and the endpoint disabled and enabled again; ru: it is deleted after a confirmation.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import {
  assert,
  createProject,
  fill,
  navItems,
  setLanguage,
  signUp,
  snackbar,
  tid,
  waitUntil,
  withResponse,
} from '../lib.mjs';

const TEXT = {
  en: {
    urlRefused: /loopback address/,
    copied: /Secret copied/,
    testQueued: /Test event queued/,
    saved: /Webhook saved/,
    disabled: /Webhook disabled/,
    enabled: /Webhook enabled/,
    deleted: /Webhook deleted/,
    delivered: 'delivered',
    testEvent: 'Test event',
    secretOnce: /not shown again/,
  },
  ru: {
    urlRefused: /Этот адрес не принимается/,
    copied: /Секрет скопирован/,
    testQueued: /Тестовое событие поставлено в очередь/,
    saved: /Вебхук сохранён/,
    disabled: /Вебхук выключен/,
    enabled: /Вебхук включён/,
    deleted: /Вебхук удалён/,
    delivered: 'доставлено',
    testEvent: 'Тестовое событие',
    secretOnce: /больше он не будет показан/,
  },
};

/** A receiver on 127.0.0.1 that answers 200 and keeps what it got. */
async function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { got, url: `http://127.0.0.1:${port}/keyport-hook`, close: () => new Promise((r) => server.close(r)) };
}

function verifySignature(secret, { headers, body }) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`)
    .digest('base64');
  return String(headers['webhook-signature'] ?? '')
    .split(' ')
    .some((s) => s === `v1,${expected}`);
}

function webhooksSpec(lang) {
  const L = TEXT[lang];
  return {
    name: `webhooks-${lang}`,
    async run(h) {
      const receiver = await startReceiver();
      try {
        const stamp = `${lang}${Date.now().toString(36)}`;
        const manager = { name: 'Wanda Webhook', email: `w-owner-${stamp}@e2e.test`, password: 'owner-password-1' };
        const { page: o } = await h.newUser('manager');
        await o.goto('/login');
        await setLanguage(o, lang);
        await signUp(o, manager);
        const projectId = await createProject(o, `Hooks ${stamp}`, 'Webhooks');
        assert((await navItems(o)).includes('webhooks'), 'a manager sees Webhooks in the menu');

        // ---------- Settings → Webhooks: empty ----------
        await withResponse(o, 'GET', new RegExp(`/projects/${projectId}/webhooks$`), () =>
          o.locator(tid('nav-webhooks')).click(),
        );
        await o.locator(tid('webhooks-panel')).waitFor();
        await o.locator(`${tid('webhooks-panel')} ${tid('empty-state')}`).waitFor();

        // ---------- create: a localhost URL is refused at the field, then the loopback receiver ----------
        await o.locator(tid('webhook-create')).click();
        await o.locator(tid('webhook-dialog')).waitFor();
        await fill(o, tid('webhook-url'), 'http://localhost:9/refused');
        await o.locator(`${tid('webhook-event-key.approved')} input`).check();
        await o.locator(`${tid('webhook-event-key.revoked')} input`).check();
        await fill(o, tid('webhook-description'), `CI receiver ${lang}`);
        h.expectConsoleError(new RegExp(`status of 400 .*/api/projects/${projectId}/webhooks\\)$`));
        const [refused] = await Promise.all([
          o.waitForResponse((r) => r.request().method() === 'POST' && /\/webhooks$/.test(new URL(r.url()).pathname)),
          o.locator(tid('webhook-submit')).click(),
        ]);
        assert(refused.status() === 400, `localhost is refused (got ${refused.status()})`);
        const urlError = await waitUntil('the refusal at the URL field', async () => {
          const field = o.locator(`${tid('webhook-url')}.v-input--error`);
          const text = (await field.locator('.v-messages__message').allTextContents()).join(' ');
          return L.urlRefused.test(text) ? text : false;
        });
        h.log(`refused at the field: ${urlError}`);
        assert((await o.locator(tid('webhook-form-error')).count()) === 0, 'no form-level error for a field refusal');

        await fill(o, tid('webhook-url'), receiver.url);
        const created = await withResponse(o, 'POST', /\/webhooks$/, () => o.locator(tid('webhook-submit')).click());
        const { secret, id: webhookId } = await created.json();
        assert(/^whsec_/.test(secret), 'the answer holds a whsec_ secret');
        const shown = await o.locator(`${tid('webhook-secret')} input`).inputValue();
        assert(shown === secret, 'the dialog shows the secret');
        assert(
          L.secretOnce.test(await o.locator(tid('webhook-secret-warning')).textContent()),
          'says it is shown once',
        );
        await o.locator(tid('webhook-secret-copy')).click();
        await snackbar(o, L.copied);
        const copied = await waitUntil('the secret on the clipboard', async () => {
          const text = await o.evaluate(() => navigator.clipboard.readText());
          return text === secret ? text : false;
        });
        assert(copied === secret, 'the secret was copied');
        await h.screenshot(o, '01-secret-once');
        await o.locator(tid('webhook-done')).click();
        await o.locator(tid('webhook-dialog')).waitFor({ state: 'hidden' });

        const card = o.locator(`[data-role="webhook"][data-id="${webhookId}"]`);
        await card.waitFor();
        assert((await card.getAttribute('data-name')) === receiver.url, 'the card shows the URL');
        assert((await card.getAttribute('data-state')) === 'enabled', 'a new endpoint is enabled');
        const events = await card
          .locator('[data-role="webhook-event"]')
          .evaluateAll((els) => els.map((e) => e.dataset.name));
        assert(events.join(',') === 'key.approved,key.revoked', `events shown: ${events}`);
        assert(!(await o.content()).includes(secret), 'the secret is not on the page any more');
        await card.locator(tid('webhook-deliveries-empty')).waitFor();

        // ---------- send a test: the receiver gets it signed, the log shows it delivered ----------
        await withResponse(o, 'POST', new RegExp(`/webhooks/${webhookId}/test$`), () =>
          card.locator(tid('webhook-test')).click(),
        );
        await snackbar(o, L.testQueued);
        const hit = await waitUntil('the test event at the receiver', async () =>
          receiver.got.find((g) => g.body.includes('webhook.test')),
        );
        assert(JSON.parse(hit.body).type === 'webhook.test', 'a webhook.test event arrived');
        assert(verifySignature(secret, hit), 'signed with the secret shown once');
        const row = card.locator('[data-role="webhook-delivery"][data-name="webhook.test"]');
        await waitUntil('the delivery in the log as delivered', async () => {
          await card.locator(tid('webhook-deliveries-refresh')).click();
          await o.waitForTimeout(300);
          return (await row.count()) > 0 && (await row.first().getAttribute('data-state')) === 'delivered';
        });
        assert((await row.first().getAttribute('data-code')) === '200', 'status code 200 logged');
        const chip = (await row.first().locator(tid('webhook-delivery-status')).textContent()).trim();
        assert(chip === L.delivered, `status chip in the UI's language: ${chip}`);
        const eventName = (await row.first().locator(tid('webhook-delivery-event')).textContent()).trim();
        assert(eventName === L.testEvent, `event named in the UI's language: ${eventName}`);
        await h.screenshot(o, '02-delivery-log');

        if (lang === 'en') {
          // ---------- edit the description; disable and enable ----------
          await card.locator(tid('webhook-edit')).click();
          await fill(o, tid('webhook-description'), 'CI receiver, edited');
          await withResponse(o, 'PATCH', new RegExp(`/webhooks/${webhookId}$`), () =>
            o.locator(tid('webhook-submit')).click(),
          );
          await snackbar(o, L.saved);
          await waitUntil('the edited description', async () =>
            (await card.locator(tid('webhook-description-text')).textContent())?.includes('edited'),
          );
          await withResponse(o, 'PATCH', new RegExp(`/webhooks/${webhookId}$`), () =>
            card.locator(`${tid('webhook-enabled')} input`).click(),
          );
          await snackbar(o, L.disabled);
          await waitUntil('disabled', async () => (await card.getAttribute('data-state')) === 'disabled');
          assert(await card.locator(tid('webhook-test')).isDisabled(), 'no test to a disabled endpoint');
          await withResponse(o, 'PATCH', new RegExp(`/webhooks/${webhookId}$`), () =>
            card.locator(`${tid('webhook-enabled')} input`).click(),
          );
          await snackbar(o, L.enabled);
          await waitUntil('enabled', async () => (await card.getAttribute('data-state')) === 'enabled');
        } else {
          // ---------- delete after a confirmation ----------
          await card.locator(tid('webhook-delete')).click();
          await o.locator(tid('webhook-delete-card')).waitFor();
          await withResponse(o, 'DELETE', new RegExp(`/webhooks/${webhookId}$`), () =>
            o.locator(`${tid('webhook-delete-card')} ${tid('confirm-ok')}`).click(),
          );
          await snackbar(o, L.deleted);
          await card.waitFor({ state: 'detached' });
          await o.locator(`${tid('webhooks-panel')} ${tid('empty-state')}`).waitFor();
        }
      } finally {
        await receiver.close();
      }
    },
  };
}

export const specs = [webhooksSpec('en'), webhooksSpec('ru')];
