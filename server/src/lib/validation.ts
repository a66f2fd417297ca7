// Two ajv instances: path/query values arrive as strings and are coerced ("42" -> 42, which the
// Python client relies on); JSON bodies are not coerced, so a wrong type is a 400.
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const base: Options = { removeAdditional: true, useDefaults: true, allErrors: false, strict: false };

function make(options: Options): Ajv {
  const ajv = new Ajv({ ...base, ...options });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

const coercing = make({ coerceTypes: 'array' });
const strictTypes = make({ coerceTypes: false });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictTypes : coercing).compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
