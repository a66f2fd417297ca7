// The session cookie without a hook on every request: the auth plugin parses the Cookie header
// only for requests that carry no API key, and setCookie/clearCookie write Set-Cookie at once.
// Same attributes as @fastify/cookie (SameSite=Lax unless told otherwise; clearing expires it).
import { type CookieSerializeOptions, fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

const { parse, serialize } = fastifyCookie;

/** The value of one cookie in a Cookie header (undefined when absent). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || !header.includes(name)) return undefined;
  return parse(header)[name];
}

function setCookie(this: FastifyReply, name: string, value: string, options?: CookieSerializeOptions): FastifyReply {
  const { secure, ...rest } = { sameSite: 'lax' as const, ...options };
  if (rest.expires && Number.isInteger(rest.expires)) rest.expires = new Date(rest.expires as unknown as number);
  const https = secure === 'auto' ? this.request.protocol === 'https' : secure;
  return this.header('set-cookie', serialize(name, value, https === undefined ? rest : { ...rest, secure: https }));
}

function clearCookie(this: FastifyReply, name: string, options?: CookieSerializeOptions): FastifyReply {
  return setCookie.call(this, name, '', { path: '/', ...options, expires: new Date(0), maxAge: 0 });
}

export const cookiePlugin = fp(
  async (app: FastifyInstance) => {
    // parsed when read (nothing on the hot path reads it)
    app.decorateRequest('cookies', {
      getter(this: { headers: { cookie?: string } }) {
        return this.headers.cookie ? parse(this.headers.cookie) : {};
      },
    });
    app.decorateReply('setCookie', setCookie as never);
    app.decorateReply('clearCookie', clearCookie as never);
  },
  { name: 'keyport-cookies' },
);
