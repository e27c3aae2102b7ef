/**
 * Child process of update-kill.test.ts: a real Agent on a state directory and DirectorySlots.
 * Usage: node update-agent-child.js CONFIG_FILE. Environment:
 *   KILL_AT=n      SIGKILL itself right after the n-th write of the install record in this run
 *   HEALTH_FAIL=1  the application health check fails on slot b
 *   HEALTH_HANG=1  the application health check on slot b never answers (a crash-looping image)
 * Prints `persisted <state> <offset>` per install-record write, `reboot-required` and exits 42 when
 * the agent reboots (the parent plays the bootloader), `state <state>` once the agent started, and
 * `final <state>` (exit 0) once the install is settled and its reports are sent. The slots are
 * the configured update.mode's (boot/open-slots.ts).
 */
import { loadAgentConfig } from '../src/config.js';
import { Agent } from '../src/agent.js';
import { DirFiles } from '../src/files/dir-files.js';
import type { AgentFiles } from '../src/ports.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import { openBootIntegration } from '../src/boot/open-slots.js';

const config = await loadAgentConfig(process.argv[2]!);
const killAt = Number(process.env['KILL_AT'] ?? 0);
const inner = await DirFiles.open(config.stateDir);
let writes = 0;
const files: AgentFiles = {
  read: (n) => inner.read(n),
  remove: (n) => inner.remove(n),
  list: (p) => inner.list(p),
  wipe: () => inner.wipe(),
  async write(name, data, opts) {
    await inner.write(name, data, opts);
    if (name !== 'update/install.json') return;
    const r = JSON.parse(Buffer.from(data).toString('utf8')) as { state: string; offset: number };
    console.log(`persisted ${r.state} ${r.offset}`);
    if (killAt > 0 && ++writes >= killAt) process.kill(process.pid, 'SIGKILL');
  },
};
const system = new SyntheticSystem();
system.onReboot = () => {
  console.log('reboot-required');
  process.exit(42);
};
const slots = (await openBootIntegration(config.update))!.slots;
const agent = new Agent({ config, files, system, log: (_l, m) => console.log(m) });
if (process.env['HEALTH_FAIL'] === '1')
  agent.updates.registerHealthCheck('app', async () => {
    if ((await slots.booted()).slot === 'b') throw new Error('the app crashes on slot b');
  });
if (process.env['HEALTH_HANG'] === '1')
  agent.updates.registerHealthCheck('app', async (signal) => {
    if ((await slots.booted()).slot !== 'b') return;
    await new Promise((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error('aborted'))),
    );
  });
await agent.start();
console.log(`state ${(await agent.updates.status())?.state ?? 'none'}`);
for (let i = 0; i < 6000; i++) {
  const s = await agent.updates.status();
  if (s !== undefined && ['committed', 'failed', 'rolled_back', 'canceled'].includes(s.state)) {
    if (s.next === 'none') {
      await agent.updates.settled();
      await agent.whenConnected(20_000);
      await agent.flush(10_000);
      console.log(`final ${s.state}`);
      await agent.stop();
      process.exit(0);
    }
  }
  await new Promise((r) => setTimeout(r, 50));
}
console.log('child gave up');
process.exit(1);
