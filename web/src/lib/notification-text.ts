import type { Notification } from '../api/index.js';

type T = (key: string, named?: Record<string, unknown>, plural?: number) => string;
type Params = NonNullable<Notification['params']>;

/**
 * Some kinds are worded by a param: `key.expiring` by `within` (7d, 1d), `usage.threshold` by
 * metric and percent, an approval that renewed a key differently from a first approval.
 * Their texts are `<kind>_<variant>`; a variant without a text of its own uses the kind's.
 */
function variantOf(kind: string, p: Params): string | null {
  if (kind === 'key.expiring' && p.within) return String(p.within);
  if (kind === 'usage.threshold' && p.metric && p.percent) return `${p.metric}_${p.percent}`;
  if (kind === 'key_request.approved' && p.renewed_key_id) return 'renewal';
  return null;
}

/**
 * Known notice kinds get a translated title, and a body written from the notice's params in the
 * UI's language. Rows without params (written before the server kept them) or of unknown kinds
 * keep the server's English text. `formatDate` words the instants some notices name (`until`).
 */
export function notificationText(
  n: Notification,
  t: T,
  te: (key: string) => boolean,
  formatDate: (iso: string) => string = (iso) => iso,
) {
  const kind = n.kind.replace(/\./g, '_');
  const params = n.params && typeof n.params === 'object' ? n.params : null;
  const variant = params ? variantOf(n.kind, params) : null;
  const keyOf = (group: 'kinds' | 'bodies') => {
    const own = `notifications.${group}.${kind}_${variant}`;
    return variant && te(own) ? own : `notifications.${group}.${kind}`;
  };
  const titleKey = keyOf('kinds');
  const bodyKey = keyOf('bodies');
  const title = te(titleKey) ? t(titleKey) : n.title;
  if (params && te(bodyKey)) {
    // the message names every parameter it uses; a missing one shows as empty, not as "{name}"
    const rewritten = typeof params.rewritten === 'number' ? params.rewritten : null;
    const named = {
      requester: '',
      email: '',
      template: '',
      project: '',
      inviter: '',
      holder: '',
      ...params,
      until: typeof params.until === 'string' ? formatDate(params.until) : '',
      rewritten: rewritten === null ? '' : t('notifications.rewritten', { count: rewritten }, rewritten),
    };
    const reason = params.reason ? ` ${t('notifications.reason', { reason: params.reason })}` : '';
    const fields = typeof params.fields === 'string' ? `\n${params.fields}` : '';
    const terms = params.terms_accepted ? `\n${t('notifications.termsAccepted')}` : '';
    return { title, body: `${t(bodyKey, named)}${reason}${fields}${terms}` };
  }
  return { title, body: n.body };
}
