/**
 * The gateway's copy of its site (decision 0040): the organization's CAs and CRL and the devices
 * it may speak for, fetched from the hub (`GET /gateway/site`, mutual TLS with the gateway's own
 * certificate) every `intervalMs` and kept on disk, so the site's devices are admitted offline
 * and after a restart without the hub. A failed fetch keeps the last copy.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpsFetch, type Agent } from '@bulwark/agent';
import type { GatewaySiteView } from '@bulwark/protocol';
import { createClient } from '@bulwark/sdk';

/** One site device as the local broker checks it. */
export interface SiteDevice {
  state: string;
  serials: ReadonlySet<string>;
  publish: ReadonlySet<string>;
  subscribe: ReadonlySet<string>;
}

export interface Site {
  view: GatewaySiteView;
  devices: ReadonlyMap<string, SiteDevice>;
}

/**
 * States in which a site device may connect (as on the hub: a quarantined device is admitted to
 * its own plane only; the broker closes its channels).
 */
const OPEN_STATES: ReadonlySet<string> = new Set(['active', 'provisioned', 'quarantined']);

export const normalizeSerial = (s: string): string => s.toLowerCase().replace(/^0+(?=.)/, '');

function toSite(view: GatewaySiteView): Site {
  const devices = new Map<string, SiteDevice>();
  for (const d of view.devices) {
    if (!OPEN_STATES.has(d.state)) continue;
    devices.set(d.id, {
      state: d.state,
      serials: new Set(d.serials.map(normalizeSerial)),
      publish: new Set(d.channels.filter((c) => c.publish).map((c) => c.channelId)),
      subscribe: new Set(d.channels.filter((c) => c.subscribe).map((c) => c.channelId)),
    });
  }
  return { view, devices };
}

export class SiteSync {
  #site: Site | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #file: string;
  /** Successful fetches since start. */
  syncs = 0;

  constructor(
    private readonly o: {
      agent: Agent;
      dir: string;
      intervalMs: number;
      onChange: (site: Site) => void;
      log: (level: 'warn' | 'info', msg: string) => void;
    },
  ) {
    this.#file = join(o.dir, 'site.json');
  }

  get site(): Site | undefined {
    return this.#site;
  }

  /** Loads the copy a previous run kept, if any. */
  async load(): Promise<Site | undefined> {
    try {
      this.#site = toSite(JSON.parse(await readFile(this.#file, 'utf8')) as GatewaySiteView);
      this.o.onChange(this.#site);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.o.log('warn', `ignoring the kept site copy: ${(err as Error).message}`);
    }
    return this.#site;
  }

  /** Fetches the site now (one fetch at a time); resolves false when it could not. */
  async syncNow(): Promise<boolean> {
    while (this.#running) await this.#running;
    let ok = false;
    this.#running = this.#fetch().then(
      () => void (ok = true),
      (err: Error) => this.o.log('warn', `site sync failed: ${err.message}`),
    );
    await this.#running;
    this.#running = undefined;
    return ok;
  }

  start(): void {
    const tick = () => {
      void this.syncNow().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.o.intervalMs);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #fetch(): Promise<void> {
    const { agent } = this.o;
    const id = agent.identity;
    if (!id) throw new Error('the gateway is not enrolled yet');
    const api = createClient({
      baseUrl: agent.config.hubUrl,
      fetch: httpsFetch({
        ca: [agent.hubCa, id.hubCa],
        key: id.keyPem,
        cert: id.certPem + (id.chain[0] ?? ''),
        timeoutMs: 30_000,
      }),
    });
    const view = await api.call('getGatewaySite', {});
    if (view.orgId !== id.orgId || view.gatewayId !== id.deviceId)
      throw new Error('the hub answered for another gateway');
    const tmp = `${this.#file}.tmp`;
    await writeFile(tmp, JSON.stringify(view), { mode: 0o600 });
    await rename(tmp, this.#file);
    this.#site = toSite(view);
    this.syncs++;
    this.o.onChange(this.#site);
  }
}
