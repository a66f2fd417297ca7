import type { Notification } from '../api/index.js';

type T = (key: string, named?: Record<string, unknown>) => string;

/** Known notice kinds get a translated title; the server's text stays as the body. */
export function notificationText(n: Notification, t: T, te: (key: string) => boolean) {
  const key = `notifications.kinds.${n.kind.replace(/\./g, '_')}`;
  return { title: te(key) ? t(key) : n.title, body: n.title && te(key) ? n.title : n.body };
}
