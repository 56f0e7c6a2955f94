// The request validators' schemas (ajv's default dialect, draft-07, plus three keywords
// of our own) as OpenAPI 3.1 schemas, which are JSON Schema 2020-12. The keywords the
// validators use mean the same in both drafts, so they are copied as they are; our own
// keywords become what tells a client the same thing: `cents` is `multipleOf: 0.01`,
// `storable` (no NUL, no unpaired surrogate), which no standard keyword says, is
// dropped here and said in the document's words instead, and `id64` is an int64.
//
// Any other keyword is refused: those that changed between the drafts (a tuple `items`,
// `definitions`, `dependencies`, `$ref` beside siblings) or a new one of our own would
// otherwise be published with a meaning the validator does not give it.

/** A JSON Schema as a plain object (the document is JSON). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** Keywords with the same meaning in draft-07 and 2020-12, copied as they are. */
const SAME_IN_BOTH = new Set([
  'type',
  'enum',
  'const',
  'required',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'title',
  'description',
  'default',
  'examples',
]);

/** Our ajv keywords, and the standard keywords that say the same to a client (none: dropped). */
const OWN_KEYWORDS: Readonly<Record<string, JsonSchema>> = {
  cents: { multipleOf: 0.01 },
  storable: {},
};

/**
 * `id64: minimum` (src/domain/id64.ts): a Java long, as the original service's ids
 * are. `format: int64` says the range; a maximum of 2^63-1 cannot be written as a
 * JSON number exactly (the document goes through JSON.stringify).
 */
export const id64Schema = (minimum: number): JsonSchema => ({ type: 'integer', format: 'int64', minimum });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Converts a validator schema to its OpenAPI 3.1 form; throws on a keyword it cannot carry over. */
export function toOpenApiSchema(schema: JsonSchema, path = '#'): JsonSchema {
  const out: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    const at = `${path}/${keyword}`;
    if (SAME_IN_BOTH.has(keyword)) out[keyword] = value;
    else if (keyword === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toOpenApiSchema(subschema(sub, `${at}/${name}`), `${at}/${name}`)]));
    } else if ((keyword === 'items' || keyword === 'additionalProperties') && isObject(value)) {
      out[keyword] = toOpenApiSchema(value, at);
    } else if (keyword === 'additionalProperties' && typeof value === 'boolean') {
      out[keyword] = value;
    } else if (keyword === 'id64' && typeof value === 'number') {
      Object.assign(out, id64Schema(value));
    } else if (Object.hasOwn(OWN_KEYWORDS, keyword)) {
      if (value === true) Object.assign(out, OWN_KEYWORDS[keyword]);
    } else {
      throw new TypeError(`${at}: the keyword '${keyword}' has no OpenAPI 3.1 form here; teach src/http/openapi/json-schema.ts what it means`);
    }
  }
  return out;
}

function subschema(value: unknown, at: string): JsonSchema {
  if (!isObject(value)) throw new TypeError(`${at}: a subschema must be an object`);
  return value;
}
