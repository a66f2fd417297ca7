// A template's approval settings: how its requests are decided (manual, or auto for everyone or
// listed email domains), the terms a requester accepts and the fields they fill in.
import { createHash } from 'node:crypto';
import { type Static, Type } from 'typebox';
import { AppError } from '../../errors.js';
import { NAME_PATTERN } from '../../lib/http.js';
import { parseJson } from '../../lib/json.js';

export const MAX_TERMS = 20_000;
export const MAX_REQUEST_FIELDS = 20;
/** a field's value length when the template does not say */
export const DEFAULT_FIELD_MAX = 500;
export const MAX_FIELD_MAX = 5000;

export const Approval = Type.Union([Type.Literal('manual'), Type.Literal('auto')]);
const Domain = Type.String({
  maxLength: 253,
  pattern: '^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$',
  description: 'an email domain, e.g. example.com (exact match, subdomains not included)',
});
export const RequestField = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, pattern: NAME_PATTERN }),
  label: Type.String({ minLength: 1, maxLength: 200 }),
  required: Type.Optional(Type.Boolean()),
  max_length: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FIELD_MAX })),
});
export const RequestFieldOut = Type.Object({
  name: Type.String(),
  label: Type.String(),
  required: Type.Boolean(),
  max_length: Type.Integer(),
});

/** Added to the create/patch bodies of a template. */
export const ApprovalInput = {
  approval: Type.Optional(Approval),
  auto_approve_email_domains: Type.Optional(Type.Array(Domain, { maxItems: 100 })),
  terms: Type.Optional(Type.String({ maxLength: MAX_TERMS })),
  request_fields: Type.Optional(Type.Array(RequestField, { maxItems: MAX_REQUEST_FIELDS })),
};
/** Added to a template as answered. */
export const ApprovalOutput = {
  approval: Approval,
  auto_approve_email_domains: Type.Array(Type.String()),
  terms: Type.String(),
  request_fields: Type.Array(RequestFieldOut),
};

export type RequestFieldDef = Static<typeof RequestFieldOut>;

export interface ApprovalSettingsInput {
  approval?: 'manual' | 'auto' | undefined;
  auto_approve_email_domains?: string[] | undefined;
  terms?: string | undefined;
  request_fields?:
    | { name: string; label: string; required?: boolean | undefined; max_length?: number | undefined }[]
    | undefined;
}

/** The columns to write for the settings given (undefined ones are left as they are). */
export function approvalColumns(input: ApprovalSettingsInput) {
  const set: {
    approval?: 'manual' | 'auto';
    auto_approve_email_domains?: string;
    terms?: string;
    request_fields?: string;
  } = {};
  if (input.approval !== undefined) set.approval = input.approval;
  if (input.auto_approve_email_domains !== undefined)
    set.auto_approve_email_domains = JSON.stringify([
      ...new Set(input.auto_approve_email_domains.map((d) => d.toLowerCase())),
    ]);
  if (input.terms !== undefined) set.terms = input.terms.trim() === '' ? '' : input.terms;
  if (input.request_fields !== undefined) {
    const seen = new Set<string>();
    const defs: RequestFieldDef[] = input.request_fields.map((f, i) => {
      const folded = f.name.toLowerCase();
      if (seen.has(folded))
        throw new AppError('VALIDATION_FAILED', `Two request fields are named "${f.name}"`, {
          field: `request_fields.${i}.name`,
        });
      seen.add(folded);
      if (f.label.trim() === '')
        throw new AppError('VALIDATION_FAILED', 'A request field needs a label', {
          field: `request_fields.${i}.label`,
        });
      return {
        name: f.name,
        label: f.label.trim(),
        required: f.required ?? false,
        max_length: f.max_length ?? DEFAULT_FIELD_MAX,
      };
    });
    set.request_fields = JSON.stringify(defs);
  }
  return set;
}

export interface ApprovalRow {
  approval: 'manual' | 'auto';
  auto_approve_email_domains: string;
  terms: string;
  request_fields: string;
}

export const requestFieldsOf = (row: Pick<ApprovalRow, 'request_fields'>) =>
  parseJson<RequestFieldDef[]>(row.request_fields, []);

export const approvalOf = (row: ApprovalRow) => ({
  approval: row.approval,
  auto_approve_email_domains: parseJson<string[]>(row.auto_approve_email_domains, []),
  terms: row.terms,
  request_fields: requestFieldsOf(row),
});

export const termsHash = (terms: string) => createHash('sha256').update(terms, 'utf8').digest('hex');

/**
 * Checks a request against its template: terms accepted when there are terms; every given field
 * known and within its length; every required one filled. A 400 names the first wrong input.
 * Answers the values to keep (trimmed, empty ones left out).
 */
export function checkRequestInput(
  row: Pick<ApprovalRow, 'terms' | 'request_fields'>,
  body: { accept_terms?: boolean | undefined; fields?: Record<string, string> | undefined },
): Record<string, string> {
  const defs = requestFieldsOf(row);
  const given = body.fields ?? {};
  const out: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (!defs.some((d) => d.name === name))
      throw new AppError('VALIDATION_FAILED', `This key asks for no field "${name}"`, { field: `fields.${name}` });
  }
  for (const d of defs) {
    const v = (given[d.name] ?? '').trim();
    if (v === '') {
      if (d.required)
        throw new AppError('VALIDATION_FAILED', `Fill in "${d.label}"`, {
          field: `fields.${d.name}`,
          keyword: 'required',
        });
      continue;
    }
    if ([...v].length > d.max_length)
      throw new AppError('VALIDATION_FAILED', `"${d.label}" is longer than ${d.max_length} characters`, {
        field: `fields.${d.name}`,
        keyword: 'maxLength',
        limit: d.max_length,
      });
    out[d.name] = v;
  }
  if (row.terms !== '' && body.accept_terms !== true)
    throw new AppError('VALIDATION_FAILED', 'Accept the terms of this key to request it', {
      field: 'accept_terms',
      keyword: 'required',
    });
  return out;
}

/** Whether the template's rule approves a request by this email address at once. */
export function ruleApproves(row: Pick<ApprovalRow, 'approval' | 'auto_approve_email_domains'>, email: string) {
  if (row.approval !== 'auto') return false;
  const domains = parseJson<string[]>(row.auto_approve_email_domains, []);
  if (!domains.length) return true;
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  return domains.includes(domain);
}
