import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KernelDataMapStore } from '@syrup/backend-ebpf/maps';
import { connect, type SyrupClient } from '@syrup/runtime';
import { afterEach, expect, it, vi } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { daemonFiles, runDaemon, type DaemonFiles, type DaemonRun } from './support/restartable-daemon.js';
import { Flows, receivedAll, udpServer, type UdpServer } from './support/udp-flows.js';
import { xdpProgIds } from './support/isolation-snapshot.js';
import { createVethNamespaces, type VethNamespaces } from './support/veth-namespaces.js';

const COUNT_UDP = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures/count-udp.ts');

const SOCKETS = 4;
const FLOWS = 6;
// Each test starts the daemon (tsx, a few seconds) once or twice on 2 shared vCPUs.
vi.setConfig({ testTimeout: 90_000 });

/** Placement from the payload: datagram `seq` goes to socket `seq % SOCKETS`, whatever its flow (the kernel's hash keeps a flow on one socket). */
const PAYLOAD_MODULO = {
  fileName: 'payload-modulo.ts',
  text: `import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'payload-modulo',
  input: 'udp',
  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 4 },
  schedule(pkt, { seen }, { SOCKETS }) {
    if (pkt.payload.length < 4) return PASS;
    seen.fetchAdd(0, 1);
    return pkt.payload.u32(0) % SOCKETS;
  },
});
`,
};

/** Datagrams found on a socket other than `seq % SOCKETS`. */
function misplaced(received: readonly (readonly number[])[]): number {
  return received.reduce((n, seqs, socket) => n + seqs.filter((seq) => seq % SOCKETS !== socket).length, 0);
}

/** The socket each flow's datagrams reached (flows of `seq % FLOWS`); -1 for a flow spread over several. */
function socketPerFlow(received: readonly (readonly number[])[]): number[] {
  const sockets = Array.from({ length: FLOWS }, () => new Set<number>());
  received.forEach((seqs, socket) => seqs.forEach((seq) => sockets[seq % FLOWS]?.add(socket)));
  return sockets.map((s) => (s.size === 1 ? ([...s][0] as number) : -1));
}

describeKernel('syrupd restarts: pins keep steering, recovery rebuilds the registry', { needs: ['bpf', 'bpffs', 'netns', 'xdp-skb'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Keep cleaning up.
      }
    }
  });

  async function files(): Promise<DaemonFiles> {
    const f = daemonFiles();
    cleanup.push(() => f.remove());
    return f;
  }
  async function daemon(f: DaemonFiles): Promise<DaemonRun> {
    const run = await runDaemon(f);
    cleanup.push(() => run.kill('SIGKILL'));
    return run;
  }
  async function client(f: DaemonFiles): Promise<SyrupClient> {
    const c = await connect({ socketPath: f.socketPath });
    cleanup.push(() => c.close());
    return c;
  }
  async function server(port?: number): Promise<UdpServer> {
    const s = await udpServer(SOCKETS, port);
    cleanup.push(() => s.kill());
    return s;
  }
  async function flows(): Promise<Flows> {
    const f = await Flows.open(FLOWS);
    cleanup.push(() => f.close());
    return f;
  }

  it('keeps steering every datagram by the policy while the daemon is SIGKILLed and restarted, and lists the same deployment after', async () => {
    const f = await files();
    const first = await daemon(f);
    const app = await server();
    const from = await flows();

    // Control: without a program the kernel's hash keeps each flow on one socket, so most of
    // these datagrams are not where the policy would put them.
    for (let seq = 0; seq < 60; seq++) await from.send(app.port, seq);
    const control = await receivedAll(app, 60);
    expect(control.flat()).toHaveLength(60);
    expect(misplaced(control)).toBeGreaterThan(0);
    await app.reset();

    const c1 = await client(f);
    const d = await c1.deploy(PAYLOAD_MODULO, { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } });
    await c1.close();
    const listed = (await (await client(f)).deployments()).map(({ id, hook, policy, owner, target }) => ({ id, hook, policy, owner, target }));
    expect(listed).toEqual([{ id: d.id, hook: 'socket-select', policy: 'payload-modulo', owner: 0, target: { port: app.port, pid: app.pid } }]);
    expect(readdirPins(f, d.id)).toEqual(['maps', 'maps/seen', 'prog', 'sockarray']);

    // Datagrams flow from now on, through the kill and the restart.
    let seq = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await from.send(app.port, seq++);
        if (seq % 8 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    cleanup.push(() => ((sending = false), sender));
    while (seq < 300) await new Promise((r) => setTimeout(r, 5));
    expect(await first.kill('SIGKILL')).not.toBe(0);
    const downFrom = seq;
    await new Promise((r) => setTimeout(r, 300));
    const second = await daemon(f);
    const downTo = seq;
    while (seq < downTo + 300) await new Promise((r) => setTimeout(r, 5));
    sending = false;
    await sender;
    const sent = seq;

    expect(downTo - downFrom).toBeGreaterThan(0);
    const received = await receivedAll(app, sent);
    // Loopback loses nothing: every datagram arrived, once, where the policy puts it.
    expect(received.flat().length).toBe(sent);
    expect(new Set(received.flat()).size).toBe(sent);
    expect(misplaced(received)).toBe(0);
    expect(second.output()).toContain('deployment restored');

    const c2 = await client(f);
    const after = (await c2.deployments()).map(({ id, hook, policy, owner, target }) => ({ id, hook, policy, owner, target }));
    expect(after).toEqual(listed);
    // The restored deployment's map is the one the program kept counting in while the daemon was down.
    const restored = await c2.deployment(d.id);
    expect(await restored.maps['seen']?.get(0)).toBe(BigInt(sent));

    // Replace works on the restored deployment (hot swap through the owner's socket), and is recorded.
    await app.reset();
    await restored.replace(PAYLOAD_MODULO, { params: { SOCKETS: 2 } });
    for (let next = 0; next < 40; next++) await from.send(app.port, next);
    expect((await receivedAll(app, 40)).map((seqs) => seqs.length)).toEqual([20, 20, 0, 0]);
    const state = JSON.parse(readFileSync(f.stateFile, 'utf8')) as { deployments: { id: string; policy: { params: unknown } }[] };
    expect(state.deployments.map((r) => [r.id, r.policy.params])).toEqual([[d.id, { SOCKETS: 2 }]]);

    // Undeploy still works after the restart, and removes the pins.
    await restored.undeploy();
    expect(await c2.deployments()).toEqual([]);
    expect(existsSync(join(f.pinRoot, d.id))).toBe(false);
    expect(JSON.parse(readFileSync(f.stateFile, 'utf8'))).toEqual({ version: 2, deployments: [] });
  });

  it('on SIGTERM stops serving but keeps the deployment steering, and the next start lists it again', async () => {
    const f = await files();
    const first = await daemon(f);
    const app = await server();
    const from = await flows();
    const d = await (await client(f)).deploy(PAYLOAD_MODULO, { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } });
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(first.output()).toContain('"kept":1');
    expect(existsSync(f.socketPath)).toBe(false);

    for (let seq = 0; seq < 80; seq++) await from.send(app.port, seq);
    const whileDown = await receivedAll(app, 80);
    expect(whileDown.flat()).toHaveLength(80);
    expect(misplaced(whileDown)).toBe(0);

    await daemon(f);
    expect((await (await client(f)).deployments()).map((i) => i.id)).toEqual([d.id]);
  });

  it('drops a deployment whose application exited while the daemon was down, and removes its pins', async () => {
    const f = await files();
    const first = await daemon(f);
    const app = await server();
    const c1 = await client(f);
    const d = await c1.deploy(PAYLOAD_MODULO, { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } });
    expect(existsSync(join(f.pinRoot, d.id, 'prog'))).toBe(true);
    await first.kill('SIGKILL');
    await app.kill();

    const second = await daemon(f);
    expect(await (await client(f)).deployments()).toEqual([]);
    expect(existsSync(join(f.pinRoot, d.id))).toBe(false);
    expect(second.output()).toMatch(new RegExp(`"deployment":"${d.id}".*"msg":"deployment dropped: its target exited"`));
  });

  it('on application exit removes the deployment within a second, and the port hashes as if no program had ever been there', async () => {
    const f = await files();
    await daemon(f);
    const from = await flows();
    const PER_FLOW = 5;

    // Control: a group on this port that never had a program.
    const never = await server();
    const port = never.port;
    for (let seq = 0; seq < FLOWS * PER_FLOW; seq++) await from.send(port, seq);
    const hashed = socketPerFlow(await receivedAll(never, FLOWS * PER_FLOW));
    expect(hashed).not.toContain(-1);
    await never.kill();

    // The same port, a deployment, and the application killed.
    const app = await server(port);
    const c = await client(f);
    const d = await c.deploy(PAYLOAD_MODULO, { hook: 'socket-select', port, pid: app.pid, params: { SOCKETS } });
    for (let seq = 0; seq < 40; seq++) await from.send(port, seq);
    expect(misplaced(await receivedAll(app, 40))).toBe(0);
    await app.kill();
    const killed = Date.now();
    while ((await c.deployments()).length > 0 && Date.now() - killed < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(Date.now() - killed).toBeLessThan(1000);
    expect(await c.deployments()).toEqual([]);
    expect(existsSync(join(f.pinRoot, d.id))).toBe(false);

    // The application starts again on the port: its new group runs no program, flows land as the hash says.
    const again = await server(port);
    for (let seq = 0; seq < FLOWS * PER_FLOW; seq++) await from.send(port, seq);
    expect(socketPerFlow(await receivedAll(again, FLOWS * PER_FLOW))).toEqual(hashed);
  });

  it('refuses at recovery a pin replaced by another object of the same type, logs it, and leaves that object alone', async () => {
    const f = await files();
    const first = await daemon(f);
    const app = await server();
    const c1 = await client(f);
    const d = await c1.deploy(PAYLOAD_MODULO, { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } });
    await first.kill('SIGKILL');

    // Someone with root swaps the data map for a map of the same type and shape.
    const pin = join(f.pinRoot, d.id, 'maps/seen');
    using foreign = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'seen' });
    foreign.update(0, [777n]);
    unlinkSync(pin);
    foreign.kernelMap.pin(pin);

    const second = await daemon(f);
    const c2 = await client(f);
    expect(await c2.deployments()).toEqual([]);
    expect(second.output()).toMatch(new RegExp(`"deployment":"${d.id}","code":"RESTORE_UNTRUSTED".*has id ${foreign.kernelMap.info().id}, but the state file recorded`));
    // Left alone: the foreign map is still pinned where it was put, untouched.
    using reopened = KernelDataMapStore.open(pin);
    expect(reopened.kernelMap.info().id).toBe(foreign.kernelMap.info().id);
    expect(reopened.lookup(0)).toEqual([777n]);
    // And the state file no longer names the deployment.
    expect(JSON.parse(readFileSync(f.stateFile, 'utf8'))).toEqual({ version: 2, deployments: [] });
  });

  it('at xdp-skb: the dispatcher stays attached through a SIGKILL, the policy counts every datagram sent meanwhile, and SIGTERM keeps the deployment too', async () => {
    const net: VethNamespaces = createVethNamespaces({ prefix: 'syrup-iso', subnet: '10.198.0' });
    cleanup.push(() => net.remove());
    const f = await files();
    const first = await daemon(f);
    const port = 41_700;
    const target = { interface: net.ifA, port, extra: { netns: net.nsA } };
    const c1 = await client(f);
    const d = await c1.deploy({ fileName: 'count-udp.ts', text: readFileSync(COUNT_UDP, 'utf8') }, { hook: 'xdp-skb', ...target });
    const listed = (await c1.deployments()).map(({ id, hook, policy, owner, target }) => ({ id, hook, policy, owner, target }));
    expect(listed).toEqual([{ id: d.id, hook: 'xdp-skb', policy: 'count-udp', owner: 0, target }]);
    expect(readdirPins(f, d.id)).toEqual(['executors', 'maps', 'maps/seen', 'prog']);
    const shared = readdirSync(join(f.pinRoot, 'shared'));
    expect(shared).toHaveLength(1);
    expect(readdirSync(join(f.pinRoot, 'shared', shared[0] as string)).sort()).toEqual(['link', 'policies', 'prog', 'routes']);
    const dispatcher = xdpProgIds(net.nsA, net.ifA);
    expect(dispatcher).toHaveLength(1);

    // Datagrams stream from the peer namespace through the kill and the restart.
    const stream = streamFrom(net.nsB, net.ipA, port);
    cleanup.push(() => stream.stop());
    while (stream.sent() < 300) await new Promise((r) => setTimeout(r, 10));
    expect(await first.kill('SIGKILL')).not.toBe(0);
    const downFrom = stream.sent();
    await new Promise((r) => setTimeout(r, 300));
    // Down: the pinned link keeps the dispatcher attached, the pinned program array keeps the policy in its slot.
    expect(xdpProgIds(net.nsA, net.ifA)).toEqual(dispatcher);
    const second = await daemon(f);
    const downTo = stream.sent();
    while (stream.sent() < downTo + 300) await new Promise((r) => setTimeout(r, 10));
    const sent = await stream.stop();
    expect(downTo - downFrom).toBeGreaterThan(0);
    expect(second.output()).toContain('deployment restored');

    const c2 = await client(f);
    expect((await c2.deployments()).map(({ id, hook, policy, owner, target }) => ({ id, hook, policy, owner, target }))).toEqual(listed);
    const restored = await c2.deployment(d.id);
    // Every datagram sent, before, during and after the daemon's absence, ran the policy once.
    const deadline = Date.now() + 5000;
    while ((await restored.maps['seen']?.get(0)) !== BigInt(sent) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await restored.maps['seen']?.get(0)).toBe(BigInt(sent));
    expect(xdpProgIds(net.nsA, net.ifA)).toEqual(dispatcher);

    // SIGTERM keeps it too, and the next start lists it again.
    expect(await second.kill('SIGTERM')).toBe(0);
    expect(second.output()).toContain('"kept":1');
    expect(xdpProgIds(net.nsA, net.ifA)).toEqual(dispatcher);
    await daemon(f);
    const c3 = await client(f);
    expect((await c3.deployments()).map((i) => i.id)).toEqual([d.id]);

    // Undeploy removes the pins and detaches the dispatcher: no XDP program on the interface,
    // and the shared pin directory goes with the last deployment sharing through it.
    await (await c3.deployment(d.id)).undeploy();
    expect(existsSync(join(f.pinRoot, d.id))).toBe(false);
    expect(existsSync(join(f.pinRoot, 'shared'))).toBe(false);
    expect(xdpProgIds(net.nsA, net.ifA)).toEqual([]);
  });
});

/**
 * A sender in namespace `ns` streaming numbered datagrams to host:port (paced: 10, then 2 ms)
 * until `stop()`, which resolves with how many it sent. `sent()` is its count so far (reported every 100).
 */
function streamFrom(ns: string, host: string, port: number): { sent(): number; stop(): Promise<number> } {
  const script = [
    'import select, socket, sys, time',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    'n = 0',
    'while not select.select([sys.stdin], [], [], 0)[0]:',
    `    s.sendto(n.to_bytes(4, "big"), (${JSON.stringify(host)}, ${port}))`,
    '    n += 1',
    '    if n % 10 == 0: time.sleep(0.002)',
    '    if n % 100 == 0: print(n, flush=True)',
    'print("total", n, flush=True)',
  ].join('\n');
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let sent = 0;
  let total: ((n: number) => void) | undefined;
  const done = new Promise<number>((r) => (total = r));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const match = /^(total )?(\d+)$/.exec(line);
    if (match === null) return;
    sent = Number(match[2]);
    if (match[1] !== undefined) total?.(sent);
  });
  return {
    sent: () => sent,
    stop: async () => {
      child.stdin.end();
      return done;
    },
  };
}

function readdirPins(f: DaemonFiles, id: string): string[] {
  return (readdirSync(join(f.pinRoot, id), { recursive: true }) as string[]).sort();
}
