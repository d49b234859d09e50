import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import type { DeployTarget } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { deployer, freeUdpPort, ownSocketInodes, policyUnit, Senders, UdpGroup, waitFor } from './support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

describeKernel('socket-select refuses targets it cannot steer, leaving nothing behind', { needs: ['bpf'] }, () => {
  const deploy = deployer();
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function group(count = 4, reusePort = true): Promise<UdpGroup> {
    const g = await UdpGroup.open(count, { reusePort });
    cleanup.push(() => g.close());
    return g;
  }

  /** Deploys a policy that drops everything, expects the refusal, and checks that no fd stayed open. */
  async function refusal(target: DeployTarget, policy = 'drop-counting.ts'): Promise<{ code: string; message: string }> {
    const unit = policyUnit(policy);
    // One deployment first, so lazily made things (the probe's cache, libc prototypes) exist before counting.
    await deploy(unit, target).catch(() => undefined);
    const before = openFdCount();
    const error = (await deploy(unit, target).then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: unknown) => e,
    )) as { code: string; message: string };
    expect(openFdCount()).toBe(before);
    // One sentence: no line breaks, one final period.
    expect(error.message).toMatch(/^[^\n]+\.$/);
    return error;
  }

  /** Datagrams still reach the group: no program (the refused one drops everything) is attached. */
  async function stillHashed(g: UdpGroup): Promise<void> {
    g.clear();
    const from = await Senders.open(3);
    try {
      for (let i = 0; i < 6; i++) await from.send(i, g.port, Buffer.from([i]));
    } finally {
      from.close();
    }
    expect(await waitFor(() => g.total === 6)).toBe(true);
  }

  it('a port no socket is bound to', async () => {
    const port = await freeUdpPort();
    const error = await refusal({ port });
    expect(error.code).toBe('SOCKET_SELECT_NO_SOCKETS');
    expect(error.message).toContain(`port ${port}`);
  });

  it('a pid that does not own the port, and a pid that does not exist', async () => {
    const g = await group();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanup.push(() => sleeper.kill('SIGKILL'));
    const notOwner = await refusal({ port: g.port, pid: sleeper.pid as number });
    expect(notOwner.code).toBe('SOCKET_SELECT_NOT_OWNER');
    expect(notOwner.message).toContain(`process ${sleeper.pid}`);
    await stillHashed(g);

    const missing = await refusal({ port: g.port, pid: 2 ** 22 + 7 });
    expect(missing.code).toBe('SOCKET_SELECT_NOT_OWNER');
    await stillHashed(g);
  });

  it('sockets bound without SO_REUSEPORT, found by port or passed explicitly', async () => {
    const g = await group(1, false);
    const byPort = await refusal({ port: g.port });
    expect(byPort.code).toBe('SOCKET_SELECT_NO_REUSEPORT');
    const explicit = await refusal({ extra: { sockets: g.sockets } });
    expect(explicit.code).toBe('SOCKET_SELECT_NO_REUSEPORT');
    await stillHashed(g);
  });

  it('a protocol that does not match the policy or the sockets', async () => {
    const g = await group();
    const named = await refusal({ port: g.port, protocol: 'tcp' });
    expect(named.code).toBe('SOCKET_SELECT_PROTOCOL_MISMATCH');
    const server = createServer();
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', reusePort: true }, resolve));
    const listener = await refusal({ extra: { sockets: [server] } });
    expect(listener.code).toBe('SOCKET_SELECT_PROTOCOL_MISMATCH');
    // A TCP policy on a port where only UDP sockets are bound finds no listener.
    const noListener = await refusal({ port: g.port }, 'tcp-round-robin.ts');
    expect(noListener.code).toBe('SOCKET_SELECT_NO_SOCKETS');
    await stillHashed(g);
  });

  it('a second deployment on a group this process already steers, and malformed targets', async () => {
    const g = await group();
    const first = await deploy(policyUnit('std:round-robin', { SOCKETS: 4 }), { port: g.port });
    cleanup.push(() => first.undeploy());
    const busy = await refusal({ port: g.port });
    expect(busy.code).toBe('SOCKET_SELECT_GROUP_BUSY');
    // The refusal names the deployment that holds the group, the one to replace.
    expect(busy.message).toContain(`already runs deployment ${first.id}; replace that deployment instead`);
    expect((await refusal({ port: 70000 })).code).toBe('SOCKET_SELECT_TARGET_INVALID');
    expect((await refusal({})).code).toBe('SOCKET_SELECT_TARGET_INVALID');
    expect((await refusal({ extra: { sockets: [] } })).code).toBe('SOCKET_SELECT_TARGET_INVALID');
    expect((await refusal({ extra: { sockets: [42] } })).code).toBe('SOCKET_SELECT_BAD_SOCKET');
    expect((await refusal({ port: g.port, extra: { address: '::1' } })).code).toBe('SOCKET_SELECT_NO_SOCKETS');
    // The first deployment is untouched: still round robin.
    g.clear();
    const from = await Senders.open(1);
    for (let i = 0; i < 8; i++) await from.send(0, g.port, Buffer.from([i]));
    from.close();
    expect(await waitFor(() => g.total === 8)).toBe(true);
    expect(g.counts).toEqual([2, 2, 2, 2]);
  });
});

describeKernel('socket-select deploy and undeploy cycles keep no fd', { needs: ['bpf'] }, () => {
  const deploy = deployer();

  it('repeats deploy, replace and undeploy (explicit sockets, by port, by pid) and refusals with the fd table unchanged', async () => {
    const g = await UdpGroup.open(4);
    try {
      const rr = policyUnit('std:round-robin', { SOCKETS: 4 });
      const sita = policyUnit('std:sita', { SOCKETS: 4 });
      const targets: DeployTarget[] = [{ port: g.port, extra: { sockets: g.sockets } }, { port: g.port }, { port: g.port, pid: process.pid }];
      const cycle = async (i: number): Promise<void> => {
        const d = await deploy(rr, targets[i % targets.length] as DeployTarget);
        await d.replace(sita);
        await d.undeploy();
        await deploy(rr, { port: g.port, pid: 2 ** 22 + 7 }).catch(() => undefined);
      };
      await cycle(0);
      await sleep(10);
      const fds = openFdCount();
      const sockets = ownSocketInodes();
      for (let i = 0; i < 30; i++) await cycle(i);
      expect(openFdCount()).toBe(fds);
      expect(ownSocketInodes()).toEqual(sockets);
      // And the group hashes again after the last undeploy.
      const from = await Senders.open(2);
      for (let i = 0; i < 4; i++) await from.send(i, g.port, Buffer.from([i]));
      from.close();
      expect(await waitFor(() => g.total === 4)).toBe(true);
    } finally {
      g.close();
    }
  }, 60_000);
});
