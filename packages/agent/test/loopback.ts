/** A TCP listener and one client connected to it on 127.0.0.1, for tests that read /proc/net. */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface LoopbackPair {
  server: Server;
  client: Socket;
  /** The listener's port. */
  port: number;
  close(): Promise<void>;
}

export async function openLoopbackPair(): Promise<LoopbackPair> {
  const server = createServer(() => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  return {
    server,
    client,
    port,
    async close() {
      client.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
