/** Detection test helpers. */
import type { AlertView } from '@bulwark/protocol';
import type { BulwarkClient } from '@bulwark/sdk';

/** Polls the organization's alerts until one of `kind` on `deviceId` (any device when null) opens. */
export async function waitForAlert(
  api: BulwarkClient,
  kind: string,
  deviceId: string | null,
  ms = 8000,
): Promise<AlertView> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { items } = await api.alerts.list({ state: 'open', limit: 500 });
    const hit = items.find(
      (a) => a.kind === kind && (deviceId === null || a.deviceId === deviceId),
    );
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no ${kind} alert within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
