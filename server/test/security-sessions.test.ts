// Sessions and passwords: a password change ends every other session, logout-all ends all
// of them, wrong passwords slow down further attempts on the account whatever address they come
// from (known and unknown emails alike, across instances), and expired sessions are purged.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MutableClock, makeTestApp, signUp, type TestApp, UserSession } from './helpers.js';
import { Tally } from './security-helpers.js';

const tally = new Tally('sessions');
const PASSWORD = 'correct horse battery';
const DAY = 86_400_000;

let ip = 0;
/** A fresh client address per attempt: the per-IP throttle never plays, only the per-account one. */
const nextIp = () => {
  ip += 1;
  return `10.77.${Math.floor(ip / 250) % 250}.${ip % 250}`;
};

const login = (t: TestApp, email: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress: nextIp() });

/** A second session of the same user, as another browser would hold. */
async function loginSession(t: TestApp, s: UserSession, password = PASSWORD): Promise<UserSession> {
  const res = await login(t, s.user.email, password);
  expect(res.statusCode, res.body).toBe(200);
  const cookie = res.cookies.find((c) => c.name === 'keyport_session')?.value as string;
  return new UserSession(t.app, s.user, cookie, res.json().csrf_token);
}

const changePassword = (s: UserSession, body: object, headers: Record<string, string> = {}) =>
  s.app.inject({
    method: 'POST',
    url: '/api/auth/password',
    headers: { cookie: `keyport_session=${s.cookie}`, 'x-csrf-token': s.csrf, ...headers },
    payload: body,
    remoteAddress: nextIp(),
  });

const passwordHash = async (t: TestApp, id: number) =>
  (await t.app.ctx.k.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow())
    .password_hash;

const sessionCount = async (t: TestApp, userId: number) =>
  Number(
    (
      await t.app.ctx.k
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow()
    ).n,
  );

async function signedIn(s: UserSession): Promise<boolean> {
  const res = await s.get('/api/auth/me');
  if (res.statusCode === 200) return true;
  expect(res.json().error.code).toBe('UNAUTHENTICATED');
  return false;
}

afterAll(() => tally.report());

describe('sessions: password change and logout-all', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t?.close());

  it('a password change ends every other session, keeps this one, and swaps the password', async () => {
    const a = await signUp(t.app, 'Changer');
    const b = await loginSession(t, a);
    const c = await loginSession(t, a);
    const before = await passwordHash(t, a.user.id);
    const res = await changePassword(a, { current_password: PASSWORD, new_password: 'a brand new secret' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ok: true, ended_sessions: 2 });
    expect(await signedIn(a)).toBe(true);
    tally.manual('another session is dead after a password change', !(await signedIn(b)));
    tally.manual('a third session is dead after a password change', !(await signedIn(c)));
    const after = await passwordHash(t, a.user.id);
    expect(after).toMatch(/^scrypt\$/);
    expect(after).not.toBe(before);
    expect(after).not.toContain('brand new');
    tally.rejects(
      'the old password after a change',
      await login(t, a.user.email, PASSWORD),
      401,
      'INVALID_CREDENTIALS',
    );
    expect((await login(t, a.user.email, 'a brand new secret')).statusCode).toBe(200);
    // this session can still make changes (its CSRF token is unchanged)
    const again = await changePassword(a, { current_password: 'a brand new secret', new_password: PASSWORD });
    expect(again.json()).toEqual({ ok: true, ended_sessions: 1 });
  });

  it('a wrong current password is 401 and changes nothing', async () => {
    const a = await signUp(t.app, 'Wrong');
    const b = await loginSession(t, a);
    const before = await passwordHash(t, a.user.id);
    const res = await changePassword(a, { current_password: 'not my password', new_password: 'whatever else 1' });
    tally.rejects('wrong current password', res, 401, 'INVALID_CREDENTIALS');
    expect(await passwordHash(t, a.user.id)).toBe(before);
    expect(await signedIn(b)).toBe(true);
    expect(await signedIn(a)).toBe(true);
    expect(res.body).not.toContain('not my password');
  });

  it('the new password follows the sign-up rules; a malformed change changes nothing', async () => {
    const a = await signUp(t.app, 'Rules');
    const b = await loginSession(t, a);
    const before = await passwordHash(t, a.user.id);
    const bad: [string, object][] = [
      ['too short', { current_password: PASSWORD, new_password: 'short' }],
      ['empty', { current_password: PASSWORD, new_password: '' }],
      ['too long', { current_password: PASSWORD, new_password: 'x'.repeat(1025) }],
      ['not a string', { current_password: PASSWORD, new_password: 12345678 }],
      ['missing', { current_password: PASSWORD }],
      ['no current password', { new_password: 'long enough password' }],
    ];
    for (const [label, body] of bad) {
      tally.rejects(`new password ${label}`, await changePassword(a, body), 400, 'VALIDATION_FAILED');
    }
    expect(await passwordHash(t, a.user.id)).toBe(before);
    expect(await signedIn(b)).toBe(true);
  });

  it('a change needs the CSRF token and a signed-in person', async () => {
    const a = await signUp(t.app, 'Csrf');
    const body = { current_password: PASSWORD, new_password: 'hijacked password' };
    const before = await passwordHash(t, a.user.id);
    tally.rejects(
      'password change without CSRF',
      await changePassword(a, body, { 'x-csrf-token': 'x' }),
      403,
      'CSRF_FAILED',
    );
    const anon = await t.app.inject({ method: 'POST', url: '/api/auth/password', payload: body });
    tally.rejects('password change signed out', anon, 401, 'UNAUTHENTICATED');
    const url = '/api/auth/logout-all';
    const cookie = `keyport_session=${a.cookie}`;
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': 'wrong' }]) {
      const res = await t.app.inject({ method: 'POST', url, headers });
      tally.rejects(`logout-all with CSRF ${headers['x-csrf-token'] ?? 'missing'}`, res, 403, 'CSRF_FAILED');
    }
    tally.rejects('logout-all signed out', await t.app.inject({ method: 'POST', url }), 401, 'UNAUTHENTICATED');
    expect(await passwordHash(t, a.user.id)).toBe(before);
    expect(await signedIn(a)).toBe(true);
  });

  it('logout-all ends every session of the user, this one included, and clears the cookie', async () => {
    const a = await signUp(t.app, 'Everywhere');
    const b = await loginSession(t, a);
    const c = await loginSession(t, a);
    const other = await signUp(t.app, 'Bystander');
    const res = await a.post('/api/auth/logout-all');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ ok: true, ended_sessions: 3 });
    const cleared = res.cookies.find((c) => c.name === 'keyport_session');
    expect(cleared?.value).toBe('');
    for (const [label, s] of [
      ['this session', a],
      ['a second session', b],
      ['a third session', c],
    ] as const) {
      tally.manual(`${label} is dead after logout-all`, !(await signedIn(s)));
    }
    expect(await sessionCount(t, a.user.id)).toBe(0);
    expect(await signedIn(other)).toBe(true);
    tally.rejects('logout-all with a dead session', await a.post('/api/auth/logout-all'), 401, 'UNAUTHENTICATED');
  });
});

describe('sessions: wrong passwords slow down the account, whatever the address', () => {
  const clock = new MutableClock();
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ clock });
  });
  afterAll(() => t?.close());

  const locked = (label: string, res: Awaited<ReturnType<typeof login>>, retryAfter: number) => {
    tally.rejects(label, res, 429, 'RATE_LIMITED');
    expect(res.headers['retry-after'], label).toBe(String(retryAfter));
  };
  const wrong = async (email: string, n: number) => {
    for (let i = 0; i < n; i++)
      tally.rejects(`wrong password ${i + 1}`, await login(t, email, `wrong ${i}`), 401, 'INVALID_CREDENTIALS');
  };

  it('after 5 wrong passwords: 429 for 1 s, 2 s, 4 s … even for the right password; a login resets it', async () => {
    const s = await signUp(t.app, 'Locked');
    const email = s.user.email;
    await wrong(email, 5);
    locked('right password while locked (1 s)', await login(t, email, PASSWORD), 1);
    locked('wrong password while locked (1 s)', await login(t, email, 'nope'), 1);
    clock.advance(999);
    locked('right password 1 ms before the end', await login(t, email, PASSWORD), 1);
    clock.advance(1);
    await wrong(email, 1); // the 6th: 2 s
    locked('locked for 2 s', await login(t, email, PASSWORD), 2);
    clock.advance(2000);
    await wrong(email, 1); // the 7th: 4 s
    locked('locked for 4 s', await login(t, email, PASSWORD), 4);
    clock.advance(1500);
    locked('locked for the rest of 4 s', await login(t, email, PASSWORD), 3);
    clock.advance(2500);
    expect((await login(t, email, PASSWORD)).statusCode).toBe(200);
    // reset: five more wrong passwords are answered 401 before the next lock
    await wrong(email, 5);
    locked('locked again after 5 new failures', await login(t, email, PASSWORD), 1);
    clock.advance(1000);
    expect((await login(t, email, PASSWORD)).statusCode).toBe(200);
  });

  it('the delay doubles up to 15 minutes', async () => {
    const s = await signUp(t.app, 'Capped');
    await wrong(s.user.email, 5);
    const seen: number[] = [];
    for (let i = 0; i < 13; i++) {
      const res = await login(t, s.user.email, PASSWORD);
      tally.rejects(`capped lock ${i}`, res, 429, 'RATE_LIMITED');
      const wait = Number(res.headers['retry-after']);
      seen.push(wait);
      clock.advance(wait * 1000);
      await wrong(s.user.email, 1);
    }
    expect(seen).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
    clock.advance(900_000);
    expect((await login(t, s.user.email, PASSWORD)).statusCode).toBe(200);
  });

  it('an unknown email gets the same answers as a known one (no account oracle)', async () => {
    const s = await signUp(t.app, 'Known');
    const unknown = `nobody-${Date.now()}@example.test`;
    for (let i = 0; i < 5; i++) {
      const k = await login(t, s.user.email, `bad ${i}`);
      const u = await login(t, unknown, `bad ${i}`);
      tally.rejects('known email, wrong password', k, 401, 'INVALID_CREDENTIALS');
      tally.rejects('unknown email', u, 401, 'INVALID_CREDENTIALS');
      expect(u.body).toBe(k.body);
    }
    const k = await login(t, s.user.email, PASSWORD);
    const u = await login(t, unknown, PASSWORD);
    locked('known email locked', k, 1);
    locked('unknown email locked', u, 1);
    expect(u.body).toBe(k.body);
    expect(u.headers['retry-after']).toBe(k.headers['retry-after']);
    clock.advance(1000);
  });

  it('locks one account only, whatever the spelling of its email', async () => {
    const a = await signUp(t.app, 'Target');
    const b = await signUp(t.app, 'Neighbour');
    for (let i = 0; i < 5; i++) {
      const spelling = i % 2 ? a.user.email.toUpperCase() : a.user.email.replace(/^./, (c) => c.toUpperCase());
      tally.rejects(
        `wrong password, email spelled "${spelling}"`,
        await login(t, spelling, 'x'),
        401,
        'INVALID_CREDENTIALS',
      );
    }
    locked('locked under another spelling', await login(t, a.user.email.toUpperCase(), PASSWORD), 1);
    expect((await login(t, b.user.email, PASSWORD)).statusCode).toBe(200);
    clock.advance(1000);
  });

  it('parallel wrong passwords cannot slip past the lock: exactly 5 are checked', async () => {
    const s = await signUp(t.app, 'Parallel');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => login(t, s.user.email, `guess ${i}`)));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses.filter((c) => c === 401)).toHaveLength(5);
    expect(statuses.filter((c) => c === 429)).toHaveLength(15);
    for (const r of answers.filter((a) => a.statusCode === 429))
      tally.rejects('parallel guess', r, 429, 'RATE_LIMITED');
    clock.advance(1000);
  });

  it('wrong current passwords on a password change count too', async () => {
    const s = await signUp(t.app, 'ChangeGuess');
    for (let i = 0; i < 5; i++) {
      const res = await changePassword(s, { current_password: `guess ${i}`, new_password: 'new password 123' });
      tally.rejects(`password change guess ${i}`, res, 401, 'INVALID_CREDENTIALS');
    }
    const res = await changePassword(s, { current_password: PASSWORD, new_password: 'new password 123' });
    locked('password change while locked', res, 1);
    locked('login while locked by password-change guesses', await login(t, s.user.email, PASSWORD), 1);
    clock.advance(1000);
    const ok = await changePassword(s, { current_password: PASSWORD, new_password: 'new password 123' });
    expect(ok.json()).toEqual({ ok: true, ended_sessions: 0 });
  });

  it('no log line holds a password', () => {
    const all = t.logs.join('\n');
    for (const secret of [PASSWORD, 'wrong 0', 'guess 3', 'new password 123', 'bad 2'])
      tally.manual(`log free of "${secret}"`, !all.includes(secret));
  });
});

describe('sessions: the slow-down holds across instances', () => {
  const clock = new MutableClock();
  let one: TestApp;
  let two: TestApp;
  const masterKey = randomBytes(32);
  beforeAll(async () => {
    one = await makeTestApp({ clock, masterKey });
    // the same database: the SQLite file in the same directory, or the same PostgreSQL schema
    two = await makeTestApp({
      clock,
      masterKey,
      dataDir: one.dataDir,
      ...(one.pgSchema ? { pgSchema: one.pgSchema } : {}),
    });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('failures on one instance lock the account on the other', async () => {
    const s = await signUp(one.app, 'Spread');
    for (let i = 0; i < 5; i++) {
      const res = await login(i % 2 ? one : two, s.user.email, `wrong ${i}`);
      tally.rejects(`wrong password on instance ${(i % 2) + 1}`, res, 401, 'INVALID_CREDENTIALS');
    }
    for (const [name, t] of [
      ['one', one],
      ['two', two],
    ] as const) {
      const res = await login(t, s.user.email, PASSWORD);
      tally.rejects(`locked on instance ${name}`, res, 429, 'RATE_LIMITED');
      expect(res.headers['retry-after']).toBe('1');
    }
    clock.advance(1000);
    expect((await login(two, s.user.email, PASSWORD)).statusCode).toBe(200);
  });
});

describe('sessions: expired sessions are purged', () => {
  const clock = new MutableClock();
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ clock });
  });
  afterAll(() => t?.close());

  it('a login deletes expired session rows and keeps live ones', async () => {
    const old = await signUp(t.app, 'Expired');
    clock.advance(20 * DAY);
    const recent = await signUp(t.app, 'Recent');
    clock.advance(11 * DAY); // old's session (30 days) has expired, recent's has not
    expect(await sessionCount(t, old.user.id)).toBe(1);
    tally.manual('an expired session does not sign in', !(await signedIn(old)));
    await loginSession(t, recent);
    expect(await sessionCount(t, old.user.id)).toBe(0);
    expect(await sessionCount(t, recent.user.id)).toBe(2);
    expect(await signedIn(recent)).toBe(true);
  });
});
