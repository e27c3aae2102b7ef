import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ROUTES, type OperationId, type RouteDef } from '@bulwark/protocol';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext resolution.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * Validates every JSON response body against its route's schema before it is sent, so the API
 * can never hand out something its OpenAPI document does not describe.
 */
export function responseValidators(): (op: OperationId, body: unknown) => string | null {
  const ajv = new Ajv({ strict: false, allErrors: false });
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();
  for (const [op, r] of Object.entries(ROUTES) as [OperationId, RouteDef][]) {
    if (r.response) compiled.set(op, ajv.compile(JSON.parse(JSON.stringify(r.response)) as object));
  }
  return (op, body) => {
    const v = compiled.get(op);
    if (!v || v(body)) return null;
    return ajv.errorsText(v.errors);
  };
}
