import { createServer, type Server, type Socket } from 'node:net';
import type { Command, Context } from '../command.js';
import { openTunnel, TunnelError, type TunnelRequest } from '../connect/tunnel.js';
import { durationSeconds } from './ticket.js';

const PERMS = ['read', 'operate', 'admin'] as const;
const TARGET = /^(local|serial|tcp:[1-9][0-9]{0,4})$/;

/** The tunnel request the flags describe. */
function requestOf(ctx: Context): TunnelRequest {
  let target = ctx.str('target') ?? 'local';
  const port = ctx.int('port');
  if (port !== undefined) {
    if (ctx.str('target') !== undefined) throw ctx.usage('give --port or --target, not both');
    target = `tcp:${port}`;
  }
  if (!TARGET.test(target) || (target.startsWith('tcp:') && Number(target.slice(4)) > 65535))
    throw ctx.usage(`--target must be local, serial or tcp:PORT, not '${target}'`);
  const perm = ctx.choice('perm', PERMS);
  const maxSeconds = durationSeconds(ctx, 'max-time');
  const maxBytes = ctx.int('max-bytes');
  const pins = ctx.strs('pin');
  return {
    deviceId: ctx.args[0] ?? '',
    target,
    ...(perm !== undefined ? { perm } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    ...(pins.length > 0 ? { pins } : {}),
  };
}

/** Copies both ways between a local stream pair and the tunnel until either side ends. */
function splice(
  tunnel: Socket,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<void> {
  return new Promise((resolve) => {
    input.pipe(tunnel);
    tunnel.pipe(output);
    tunnel.resume();
    const done = () => {
      // Let go of stdin, or the process would wait on it after the tunnel closed.
      input.unpipe(tunnel);
      (input as NodeJS.ReadStream).pause?.();
      resolve();
    };
    tunnel.once('close', done);
    tunnel.once('error', done);
  });
}

/** `--listen PORT`: each local connection opens its own tunnel (a ticket works once). */
async function listen(ctx: Context, req: TunnelRequest, port: number): Promise<number> {
  const conn = ctx.connection();
  const client = ctx.client();
  const server: Server = createServer({ noDelay: true }, (local) => {
    local.pause();
    local.on('error', () => local.destroy());
    openTunnel(client, conn, req).then(
      (t) => {
        ctx.io.err(`tunnel ${t.tunnel.sessionId} to ${req.deviceId} ${req.target}: open\n`);
        local.pipe(t.socket);
        t.socket.pipe(local);
        local.resume();
        t.socket.on('error', () => local.destroy());
        t.socket.on('close', () => {
          local.destroy();
          ctx.io.err(`tunnel ${t.tunnel.sessionId}: closed\n`);
        });
        local.on('close', () => t.socket.destroy());
      },
      (err: Error) => {
        ctx.io.err(`tunnel to ${req.deviceId} refused: ${err.message}\n`);
        local.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  ctx.io.err(
    `listening on 127.0.0.1:${bound} for ${req.deviceId} ${req.target} (each connection opens its own tunnel; Ctrl-C ends)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** `bulwark connect DEVICE`: remote access through the hub, end-to-end encrypted (decision 0042). */
export const connectCommands: Command[] = [
  {
    path: ['connect'],
    args: ['DEVICE'],
    ids: { DEVICE: 'device' },
    summary:
      'Open an end-to-end encrypted tunnel to a device through the hub: its local management port, serial pass-through or a TCP port (no inbound port on the device).',
    options: {
      target: {
        type: 'string',
        value: 'TARGET',
        help: 'local (default: the local management protocol), serial, or tcp:PORT',
      },
      port: { type: 'string', value: 'N', help: 'shorthand for --target tcp:N (e.g. 22)' },
      listen: {
        type: 'string',
        value: 'PORT',
        help: 'serve it on 127.0.0.1:PORT for ordinary tools (ssh -p PORT localhost); default stdin/stdout',
      },
      perm: {
        type: 'string',
        value: 'LEVEL',
        help: 'ticket level: read, operate (default), admin',
      },
      'max-time': {
        type: 'string',
        value: 'DURATION',
        help: 'the hub closes the tunnel after this (default 1h, at most 8h)',
      },
      'max-bytes': {
        type: 'string',
        value: 'N',
        help: 'the hub closes the tunnel after N bytes both ways (default 1 GiB)',
      },
      pin: {
        type: 'string',
        multiple: true,
        value: 'SHA256',
        help: "pin this device certificate fingerprint instead of the hub's list",
      },
    },
    run: async (ctx) => {
      const req = requestOf(ctx);
      const port = ctx.str('listen');
      if (port !== undefined) {
        if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535)
          throw ctx.usage(`--listen must be a port number, not '${port}'`);
        return listen(ctx, req, Number(port));
      }
      let t;
      try {
        t = await openTunnel(ctx.client(), ctx.connection(), req);
      } catch (err) {
        if (err instanceof TunnelError) {
          ctx.io.err(`error: ${err.message}\n`);
          return 1;
        }
        throw err;
      }
      ctx.io.err(`${t.banner}\n${t.accepted}\n`);
      await splice(t.socket, ctx.io.stdin, process.stdout);
      return 0;
    },
  },
];
