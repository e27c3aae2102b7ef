/**
 * The local management port's view of an agent (LocalPortHost): the device identity for TLS and
 * tickets, the twin's parameters, the revoked-ticket list and the device actions. Each identity
 * read fails clearly while the device has none.
 */
import type { DeviceEvent } from '@bulwark/protocol';
import type { AgentClock, AgentFiles, LocalPortHost } from '../ports.js';
import type { IdentityMaterial } from './identity.js';
import type { Twin } from './twin.js';

/** What the view is built on. */
export interface LocalPortHostDeps {
  identity(): IdentityMaterial | undefined;
  twin: Twin;
  files: AgentFiles;
  clock: AgentClock;
  reboot(): Promise<void>;
  factoryReset(): Promise<void>;
  report(event: DeviceEvent): void;
}

/** Builds the local port's host on an agent's parts. */
export function localPortHost(deps: LocalPortHostDeps): LocalPortHost {
  const { twin } = deps;
  const id = () => {
    const m = deps.identity();
    if (m === undefined) throw new Error('the device has no identity yet');
    return m;
  };
  return {
    get deviceId() {
      return id().deviceId;
    },
    get orgId() {
      return id().orgId;
    },
    tlsCredentials: () => ({ key: id().keyPem, cert: id().certPem + (id().chain[0] ?? '') }),
    ticketIssuers: () => id().chain.slice(0, 1),
    revokedTickets: () => new Set((twin.get('tickets.revoked') as string[] | undefined) ?? []),
    getParam: (path) => twin.get(path),
    listParams: () => twin.list(),
    // The local port never changes security settings (TwinReadOnlyError → `ERR read_only`).
    setParam: (path, value) => twin.set(path, value, { local: true }),
    reboot: () => deps.reboot(),
    factoryReset: () => deps.factoryReset(),
    report: (e) => deps.report(e),
    files: deps.files,
    clock: deps.clock,
  };
}
