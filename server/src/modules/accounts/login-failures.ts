// Per-account slow-down of wrong passwords, whatever address they come from (the per-IP throttle
// does not stop an attacker with many addresses). After FREE_FAILURES consecutive wrong passwords
// the account takes no attempt for 1 s, then 2 s, 4 s … up to 15 min; a successful login resets it.
//
// The state lives in the database (one row per account, shared by every instance), keyed by a
// hash of the normalized email: unknown emails are counted and locked exactly like known ones, so
// the slow-down tells nothing about which accounts exist.
//
// An attempt is counted as a failure *before* its password is checked, in the same statement that
// checks the lock: parallel attempts (several instances, many addresses) cannot all pass the lock
// while the first wrong password is still being checked. A right password then clears the row.
import { hash } from 'node:crypto';
import { sql } from 'kysely';
import type { Q } from '../../context.js';
import { AppError } from '../../errors.js';
import { DAY_MS } from '../../lib/clock.js';

/** Wrong passwords in a row that cost nothing. */
export const FREE_FAILURES = 5;
export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 15 * 60_000;
/** Counters without a failure for this long are forgotten (swept on login). */
export const FORGET_AFTER_MS = DAY_MS;

/** Failures past FREE_FAILURES from which the delay is the cap (1 s × 2^10 > 15 min). */
const CAP_STEP = Math.ceil(Math.log2(MAX_DELAY_MS / FIRST_DELAY_MS));

/** Time the account stays locked after its `failures`-th consecutive wrong password. */
export function lockDelayMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures - FREE_FAILURES));
}

export const failureKey = (normalizedEmail: string) => hash('sha256', `login:${normalizedEmail}`, 'base64url');

/** 429 for a locked account; `retryAfterS` goes into the Retry-After header. */
export class AccountLocked extends AppError {
  constructor(readonly retryAfterS: number) {
    super('RATE_LIMITED', `Too many wrong passwords for this account; retry in ${retryAfterS} s`);
  }
}

/**
 * Claims one password attempt: counts it as a failure (locking the account when that reaches
 * FREE_FAILURES) unless the account is locked, in which case it throws AccountLocked.
 */
export async function claimAttempt(q: Q, key: string, now: number): Promise<void> {
  // the same schedule as lockDelayMs, in SQL so that counting and locking are one atomic step
  const f = sql`login_failures.failures + 1`;
  const at = sql`CAST(${now} AS bigint)`;
  const free = sql.lit(FREE_FAILURES);
  const first = lockDelayMs(1);
  const r = await sql<{ failures: number }>`
    INSERT INTO login_failures (key, failures, locked_until, last_failure_at)
    VALUES (${key}, 1, ${first > 0 ? now + first : 0}, ${now})
    ON CONFLICT (key) DO UPDATE SET
      failures = ${f},
      locked_until = CASE
        WHEN ${f} < ${free} THEN 0
        WHEN ${f} >= ${sql.lit(FREE_FAILURES + CAP_STEP)} THEN ${at} + ${sql.lit(MAX_DELAY_MS)}
        ELSE ${at} + ${sql.lit(FIRST_DELAY_MS)} * (1 << (${f} - ${free}))
      END,
      last_failure_at = ${at}
    WHERE login_failures.locked_until <= ${at}
    RETURNING failures`.execute(q);
  if (r.rows.length > 0) return;
  const row = await q.selectFrom('login_failures').select('locked_until').where('key', '=', key).executeTakeFirst();
  throw new AccountLocked(Math.max(1, Math.ceil((Number(row?.locked_until ?? now) - now) / 1000)));
}

/** The password was right: the consecutive count starts again. */
export const clearFailures = (q: Q, key: string) => q.deleteFrom('login_failures').where('key', '=', key).execute();

/** Forgets idle counters (their lock, at most 15 min, ended long ago). */
export const sweepFailures = (q: Q, now: number) =>
  q
    .deleteFrom('login_failures')
    .where('last_failure_at', '<', now - FORGET_AFTER_MS)
    .execute();
