import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTES, type RouteDef } from '@bulwark/protocol';
import { ROUTE_WIRE } from '@bulwark/protocol/lite';

// What scripts/gen-route-wire.mjs writes for one route.
const wireOf = (r: RouteDef): Record<string, unknown> => ({
  method: r.method,
  path: r.path,
  status: r.status,
  ...(r.produces === undefined ? {} : { produces: r.produces }),
  ...(r.body === undefined ? {} : { body: true }),
  ...(r.rawBody ? { rawBody: true } : {}),
  ...(r.streamBody ? { streamBody: true } : {}),
  ...(r.streamResponse ? { streamResponse: true } : {}),
});

describe('the lite route table (decision 0029)', () => {
  it('states every route of ROUTES exactly (else run node scripts/gen-route-wire.mjs)', () => {
    const expected = Object.fromEntries(
      Object.entries(ROUTES).map(([op, r]) => [op, wireOf(r as RouteDef)]),
    );
    assert.deepEqual({ ...ROUTE_WIRE }, expected);
  });
});
