import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { afterEach, expect, it } from 'vitest';
import { embedded, type EmbeddedSyrup } from '../src/index.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { pythonServer, send, udpGroup, waitFor } from './support/udp.js';

const SOCKETS = 4;

describeKernel('embedded() with the eBPF backend', { needs: ['bpf'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function start(): Promise<EmbeddedSyrup> {
    const syrup = await embedded({ backends: [ebpfBackendModule] });
    cleanup.push(() => syrup.close());
    return syrup;
  }

  it('deploys round-robin by package specifier onto its own reuseport group, reads next, replaces with sita, undeploys', async () => {
    const syrup = await start();
    const group = await udpGroup(SOCKETS);
    cleanup.push(() => group.close());

    const d = await syrup.deploy('@syrup/policies-std/round-robin', {
      hook: 'socket-select',
      port: group.port,
      params: { SOCKETS },
      extra: { sockets: group.sockets },
    });
    expect(d.policy).toBe('round-robin');
    expect((await syrup.deployments()).map((i) => [i.id, i.policy, i.owner, i.state])).toEqual([[d.id, 'round-robin', 0, 'active']]);

    await send(group.port, 400);
    expect(await waitFor(() => group.counts.reduce((a, b) => a + b) === 400)).toBe(true);
    expect(group.counts).toEqual([100, 100, 100, 100]);
    expect(await d.maps['next']?.get(0)).toBe(400n);
    await d.maps['next']?.set(0, 1n);
    expect(await d.maps['next']?.dump()).toEqual([[0, 1n]]);

    // sita: payload u32 0 === 1 is a SCAN (socket 0); everything else round-robins over 1..3.
    group.counts.fill(0);
    const replaced = new Promise((resolve) => d.once('replaced', resolve));
    await d.replace('@syrup/policies-std/sita', { params: { SOCKETS } });
    await replaced;
    expect(d.policy).toBe('sita');
    await send(group.port, 300, (i) => Uint8Array.of(0, 0, 0, i % 3 === 0 ? 1 : 2));
    expect(await waitFor(() => group.counts.reduce((a, b) => a + b) === 300)).toBe(true);
    expect(group.counts).toEqual([100, 66, 67, 67]);

    await d.undeploy();
    expect(await syrup.deployments()).toEqual([]);
    // Default scheduling is back: the kernel hashes flows, so every datagram still arrives.
    group.counts.fill(0);
    await send(group.port, 40);
    expect(await waitFor(() => group.counts.reduce((a, b) => a + b) === 40)).toBe(true);
  });

  it('drops a deployment from deployments() within a second of its target process being killed', async () => {
    const syrup = await start();
    const python = await pythonServer(SOCKETS);
    const exited = new Promise((resolve) => python.child.once('exit', resolve));
    cleanup.push(() => python.kill());
    const d = await syrup.deploy('@syrup/policies-std/round-robin', { hook: 'socket-select', port: python.port, pid: python.pid, params: { SOCKETS } });
    const managed = syrup.service.get(d.id);
    expect((await syrup.deployments()).map((i) => i.id)).toEqual([d.id]);

    python.child.kill('SIGKILL');
    await exited;
    let listed = [d.id];
    const deadline = Date.now() + 1000;
    while (listed.length > 0 && Date.now() < deadline) {
      listed = (await syrup.deployments()).map((i) => i.id);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(listed).toEqual([]);
    expect(managed.state).toBe('undeployed');
    // The service forgot it, as after any undeploy: the id now names nothing.
    await expect(d.undeploy()).rejects.toMatchObject({ code: 'DEPLOYMENT_NOT_FOUND' });
  });

  it("refuses hook 'thread', which no registered backend provides", async () => {
    const syrup = await start();
    await expect(syrup.deploy('@syrup/policies-std/round-robin', { hook: 'thread', pid: process.pid })).rejects.toThrow("no backend provides hook 'thread'");
  });

  it('close() undeploys everything it deployed', async () => {
    const syrup = await embedded({ backends: [ebpfBackendModule] });
    const group = await udpGroup(2);
    cleanup.push(() => group.close());
    const d = await syrup.deploy('@syrup/policies-std/round-robin', { hook: 'socket-select', port: group.port, params: { SOCKETS: 2 }, extra: { sockets: group.sockets } });
    expect(syrup.service.get(d.id).state).toBe('active');
    const managed = syrup.service.get(d.id);
    await syrup.close();
    expect(managed.state).toBe('undeployed');
    await expect(syrup.deploy('@syrup/policies-std/round-robin', { hook: 'socket-select', port: group.port })).rejects.toThrow('shut down');
  });
});
