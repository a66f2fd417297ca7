// Input guards in front of every route (found by tests/fuzzing):
// - JSON bodies go through Fastify's own parser (prototype-poisoning checks, body limit) plus a
//   bound on nesting depth: JSON.parse copes with 50 000 levels, but JSON.stringify, validators
//   and serializers recurse and overflow the stack on them (a 500).
// - NUL characters are refused in JSON strings and in URLs: PostgreSQL text cannot hold them
//   (a 500 there, silently accepted by SQLite), and secrets become environment variables, which
//   cannot hold them either.
// - JSON bodies must be valid UTF-8: decoding them as text replaced bad bytes with U+FFFD.
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** Deeper than any real payload (package fields, permissions) and far below any stack limit. */
export const MAX_JSON_DEPTH = 100;

/** True when the JSON text nests objects/arrays deeper than `max` (strings are skipped). */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** A `\u0000` escape that is not itself an escaped backslash followed by "u0000". */
const JSON_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

export function registerInputGuards(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // Read as bytes: decoding to a string first would silently turn invalid UTF-8 into U+FFFD
  // (stored as such); JSON text must be UTF-8 (RFC 8259 §8.1), so anything else is malformed.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (!isUtf8(bytes)) {
      done(new AppError('MALFORMED_JSON', 'Request body is not valid UTF-8'), undefined);
      return;
    }
    const text = bytes.toString('utf8');
    if (jsonTooDeep(text)) {
      done(new AppError('VALIDATION_FAILED', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    if (JSON_NUL.test(text)) {
      done(new AppError('VALIDATION_FAILED', 'Text may not contain NUL (\\u0000) characters'), undefined);
      return;
    }
    parse(req, text, done);
  });
}

/** The refusal of a URL carrying NUL (%00), checked by the app's first onRequest hook. */
export function urlRefusal(url: string): AppError | undefined {
  return url.includes('%00')
    ? new AppError('VALIDATION_FAILED', 'The URL may not contain NUL (%00) characters')
    : undefined;
}
