// The OpenAPI document says what a caller must send, not what a handler receives. TypeBox marks a
// query parameter with a default as required (so the handler's type has it), and a body object
// as required even when every property is optional; Fastify fills the defaults and accepts the
// body left out. Without this, the generated types make every caller pass page=1 or {}.

/** The parts of an OpenAPI 3 document this looks at. */
interface Schema {
  type?: string;
  default?: unknown;
  required?: string[];
}
interface Operation {
  parameters?: { in?: string; required?: boolean; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
}
type Doc = { paths?: Record<string, Record<string, unknown> | undefined> };

/** Defaulted query parameters and all-optional JSON bodies become optional in the document. */
export function relaxDefaults<D extends Doc>(doc: D): D {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const value of Object.values(item ?? {})) {
      if (typeof value !== 'object' || value === null || !('responses' in value)) continue;
      const op = value as Operation;
      for (const p of op.parameters ?? []) {
        if (p.in === 'query' && p.schema?.default !== undefined) p.required = false;
      }
      const body = op.requestBody;
      const schema = body?.content?.['application/json']?.schema;
      if (body?.required && schema?.type === 'object' && !schema.required?.length) body.required = false;
    }
  }
  return doc;
}
