import type { Notification } from '../api/index.js';

type T = (key: string, named?: Record<string, unknown>) => string;

/**
 * Known notice kinds get a translated title, and a body written from the notice's params in the
 * UI's language. Rows without params (written before the server kept them) or of unknown kinds
 * keep the server's English text.
 */
export function notificationText(n: Notification, t: T, te: (key: string) => boolean) {
  const kind = n.kind.replace(/\./g, '_');
  const titleKey = `notifications.kinds.${kind}`;
  const bodyKey = `notifications.bodies.${kind}`;
  const title = te(titleKey) ? t(titleKey) : n.title;
  const params = n.params && typeof n.params === 'object' ? n.params : null;
  if (params && te(bodyKey)) {
    // the message names every parameter it uses; a missing one shows as empty, not as "{name}"
    const named = { requester: '', email: '', template: '', project: '', inviter: '', ...params };
    const reason = params.reason ? ` ${t('notifications.reason', { reason: params.reason })}` : '';
    return { title, body: `${t(bodyKey, named)}${reason}` };
  }
  return { title, body: n.body };
}
