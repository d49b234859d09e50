import { connect, createServer, type Server } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { nodeSocketFd } from '../../../src/hooks/socket-select/node-socket-fd.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { deployer, policyUnit, waitFor } from './support.js';

const LISTENERS = 4;
const CONNECTIONS = 40;

describeKernel('socket-select places TCP connection requests on reuseport listeners', { needs: ['bpf'] }, () => {
  const deploy = deployer();
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function listeners(): Promise<{ port: number; accepted: Map<number, number> }> {
    /** Client port -> the listener that accepted it. */
    const accepted = new Map<number, number>();
    let port = 0;
    for (let i = 0; i < LISTENERS; i++) {
      const server = createServer((socket) => {
        accepted.set(socket.remotePort as number, i);
        socket.destroy();
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '127.0.0.1', reusePort: true }, resolve);
      });
      port = (server.address() as { port: number }).port;
    }
    return { port, accepted };
  }

  async function connectOnce(port: number): Promise<number> {
    const client = connect({ port, host: '127.0.0.1' });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      return client.localPort as number;
    } finally {
      client.destroy();
    }
  }

  it('round robin gives connection i to listener i mod 4, with the listeners passed as net.Servers', async () => {
    const { port, accepted } = await listeners();
    const d = await deploy(policyUnit('tcp-round-robin.ts'), { port, protocol: 'tcp', extra: { sockets: servers } });
    try {
      const clientPorts: number[] = [];
      for (let i = 0; i < CONNECTIONS; i++) clientPorts.push(await connectOnce(port));
      expect(await waitFor(() => clientPorts.every((p) => accepted.has(p)))).toBe(true);
      expect(clientPorts.map((p) => accepted.get(p))).toEqual(clientPorts.map((_, i) => i % LISTENERS));
      expect(await d.maps['next']?.get(0)).toBe(BigInt(CONNECTIONS));
    } finally {
      await d.undeploy();
    }
    // Default scheduling again: connections still land (on whichever listener the hash picks).
    const later = await connectOnce(port);
    expect(await waitFor(() => accepted.has(later))).toBe(true);
  });

  it('finds the listeners by port and protocol alone, in this process\'s fd order', async () => {
    const { port, accepted } = await listeners();
    // Executor k is the listener with the k-th lowest fd (creation order only when no lower fd was free).
    const byFd = servers.map((server, i) => ({ i, fd: nodeSocketFd(server) as number })).sort((a, b) => a.fd - b.fd).map((s) => s.i);
    const d = await deploy(policyUnit('tcp-round-robin.ts'), { port, protocol: 'tcp' });
    try {
      const clientPorts: number[] = [];
      for (let i = 0; i < 8; i++) clientPorts.push(await connectOnce(port));
      expect(await waitFor(() => clientPorts.every((p) => accepted.has(p)))).toBe(true);
      expect(clientPorts.map((p) => accepted.get(p))).toEqual([...byFd, ...byFd]);
    } finally {
      await d.undeploy();
    }
  });
});
