import { ERRORS, ROUTES, type RouteDef } from '@bulwark/protocol';
type TSchema = NonNullable<RouteDef['body']>;

type Json = Record<string, unknown>;

/** A plain JSON copy of a TypeBox schema (drops TypeBox's symbol keys and `$id`s). */
function plain(schema: TSchema): Json {
  return JSON.parse(
    JSON.stringify(schema, (k, v: unknown) => (k === '$id' ? undefined : v)),
  ) as Json;
}

function parameters(r: RouteDef): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!schema) continue;
    const s = plain(schema);
    const props = (s['properties'] ?? {}) as Record<string, Json>;
    const required = new Set((s['required'] ?? []) as string[]);
    for (const [name, prop] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: prop });
    }
  }
  return out;
}

/**
 * The OpenAPI 3.1 document of the REST API, generated from the same route table and schemas that
 * validate requests and responses.
 */
export function openApiDocument(info: { version: string; serverUrl?: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const [operationId, r] of Object.entries(ROUTES) as [string, RouteDef][]) {
    const path = `/api/v1${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    const responses: Json = {
      [String(r.status)]: {
        description: r.summary,
        ...(r.response
          ? { content: { 'application/json': { schema: plain(r.response) } } }
          : r.produces
            ? { content: { [r.produces]: { schema: { type: 'string' } } } }
            : {}),
      },
      default: {
        description: 'An error (RFC 9457 problem details; `code` is one of the registered codes)',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      },
    };
    const security =
      r.auth === 'none'
        ? []
        : r.auth === 'device'
          ? [{ deviceCertificate: [] }]
          : r.auth === 'principal-or-device'
            ? [{ bearer: [] }, { deviceCertificate: [] }]
            : [{ bearer: [] }];
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId,
      summary: r.summary,
      tags: [r.tag],
      security,
      ...(r.permission ? { 'x-bulwark-permission': r.permission } : {}),
      // The permission may also be held by a scoped grant covering the device (decision 0046).
      ...(r.deviceScoped ? { 'x-bulwark-device-scoped': true } : {}),
      parameters: parameters(r),
      ...(r.streamBody
        ? {
            requestBody: {
              required: true,
              content: { 'application/octet-stream': { schema: { type: 'string' } } },
            },
          }
        : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: plain(r.body) } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bulwark hub API',
      version: info.version,
      description:
        'REST API of the Bulwark hub. Errors are RFC 9457 problem details with a stable `code`.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A user access token or an API key (bwk_…)',
        },
        deviceCertificate: {
          type: 'mutualTLS',
          description: 'A device certificate issued by the organization CA',
        },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string', enum: Object.keys(ERRORS) },
            instance: { type: 'string' },
          },
        },
      },
    },
  };
}
