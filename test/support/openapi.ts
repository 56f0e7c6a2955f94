// Compiles the schemas of an OpenAPI 3.1 document (JSON Schema 2020-12) with ajv in
// strict mode, its `#/components/schemas/…` references resolving, so tests can check
// values against what the document says.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

// The `format`s the document uses (ajv knows none by itself; ajv-formats is not a
// dependency of ours), as strict as the service's own values need.
const FORMATS = {
  uri: /^[a-z][a-z0-9+.-]*:[^\s]*$/i,
  'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  // Ids (Java longs). A test reads them with JSON.parse, which rounds past 2^53: the range is all it can check.
  int64: { type: 'number' as const, validate: (n: number): boolean => Number.isInteger(n) && Math.abs(n) <= 2 ** 63 },
};

export interface DocumentWithSchemas {
  readonly components: { readonly schemas: Readonly<Record<string, unknown>> };
}

/** A compiler of the document's schemas: `compile(schema)` for a schema found anywhere in it. */
export function schemaCompiler(doc: DocumentWithSchemas): (schema: unknown) => ValidateFunction {
  // multipleOfPrecision: 0.29 / 0.01 is 28.999999999999996 in floating point, as the
  // service's own OrderDto reader knows (src/domain/order-dto.ts).
  const ajv = new Ajv2020({ strict: true, allErrors: true, formats: FORMATS, multipleOfPrecision: 8 });
  const rebase = (schema: unknown): object => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"openapi#/$defs/')) as object;
  ajv.addSchema(rebase({ $id: 'openapi', $defs: doc.components.schemas }), 'openapi');
  return (schema) => ajv.compile(rebase(schema));
}
