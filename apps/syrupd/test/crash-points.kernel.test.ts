import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelMap } from '@syrup/backend-ebpf/maps';
import { CRASH_POINTS, CRASH_POINT_ENV, type CrashPoint } from '@syrup/core';
import { connect, type SyrupClient } from '@syrup/runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { daemonFiles, runDaemon, type DaemonFiles, type DaemonRun } from './support/restartable-daemon.js';
import { Flows, receivedAll, udpServer, type UdpServer } from './support/udp-flows.js';
import { xdpProgIds } from './support/isolation-snapshot.js';
import { createVethNamespaces, sendFrom, type VethNamespaces } from './support/veth-namespaces.js';

const COUNT_UDP = resolve(dirname(fileURLToPath(import.meta.url)), 'fixtures/count-udp.ts');
const SOCKETS = 4;
const FLOWS = 6;
// Two daemon starts per crash point (three with an XDP anchor), tsx a few seconds each, on 2 shared vCPUs.
vi.setConfig({ testTimeout: 120_000 });

/**
 * Datagram `seq` goes to socket `seq % SOCKETS`: which policy (and which params) steers shows in
 * where datagrams land. Datagrams numbered from DROP_FROM on are dropped: a program left attached
 * shows even when its socket array was emptied (its selections fail and the kernel hashes).
 */
const DROP_FROM = 1_000_000;
const PAYLOAD_MODULO = {
  fileName: 'payload-modulo.ts',
  text: `import { definePolicy, DROP, PASS } from '@syrup/core';

export default definePolicy({
  name: 'payload-modulo',
  input: 'udp',
  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 4 },
  schedule(pkt, { seen }, { SOCKETS }) {
    if (pkt.payload.length < 4) return PASS;
    if (pkt.payload.u32(0) >= ${DROP_FROM}) return DROP;
    seen.fetchAdd(0, 1);
    return pkt.payload.u32(0) % SOCKETS;
  },
});
`,
};
const COUNT = { fileName: 'count-udp.ts', text: readFileSync(COUNT_UDP, 'utf8') };
/** Counts two per datagram in the same map: which of the two policies runs shows in the count. */
const COUNT_TWICE = {
  fileName: 'count-twice.ts',
  text: `import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'count-twice',
  input: 'udp',
  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  schedule(_pkt, { seen }) {
    seen.fetchAdd(0, 2);
    return PASS;
  },
});
`,
};

/** The points of each sequence, in the order the daemon reaches them. */
const SOCKET_DEPLOY: readonly CrashPoint[] = [
  'deploy-after-intent',
  'socket-select-after-pin',
  'socket-select-after-fill',
  'socket-select-after-attach',
  'deploy-after-attach',
  'deploy-after-persist',
  'deploy-after-record',
];
const XDP_DEPLOY: readonly CrashPoint[] = ['deploy-after-intent', 'xdp-after-install', 'xdp-after-route', 'deploy-after-attach', 'deploy-after-persist', 'deploy-after-record'];
const REPLACE: readonly CrashPoint[] = ['replace-after-intent', 'replace-after-swap', 'replace-after-persist', 'replace-after-record'];
const UNDEPLOY: readonly CrashPoint[] = ['undeploy-after-intent', 'socket-select-after-detach', 'undeploy-after-close'];

describe('crash points', () => {
  it('are all exercised below, each in the sequence that reaches it', () => {
    expect(new Set([...SOCKET_DEPLOY, ...XDP_DEPLOY, ...REPLACE, ...UNDEPLOY])).toEqual(new Set(CRASH_POINTS));
  });
});

interface StateFile {
  readonly deployments: readonly { readonly id: string; readonly policy: { readonly params?: Record<string, unknown> } }[];
  readonly intents?: unknown;
}

describeKernel('syrupd SIGKILLed at every step of deploy, replace and undeploy: the next start leaves listed = steered, no orphan pins', { needs: ['bpf', 'bpffs', 'netns', 'xdp-skb'] }, () => {
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

  function files(): DaemonFiles {
    const f = daemonFiles();
    cleanup.push(() => f.remove());
    return f;
  }
  async function daemon(f: DaemonFiles, crashAt?: CrashPoint): Promise<DaemonRun> {
    const run = await runDaemon(f, [], crashAt === undefined ? {} : { [CRASH_POINT_ENV]: crashAt });
    cleanup.push(() => run.kill('SIGKILL'));
    return run;
  }
  async function client(f: DaemonFiles): Promise<SyrupClient> {
    const c = await connect({ socketPath: f.socketPath });
    cleanup.push(() => c.close());
    return c;
  }
  async function server(): Promise<UdpServer> {
    const s = await udpServer(SOCKETS);
    cleanup.push(() => s.kill());
    return s;
  }
  async function flows(): Promise<Flows> {
    const f = await Flows.open(FLOWS);
    cleanup.push(() => f.close());
    return f;
  }

  /** The request the armed daemon dies in: it never answers, and the daemon is gone (SIGKILL). */
  async function crashesDuring(run: DaemonRun, request: Promise<unknown>): Promise<void> {
    await expect(request).rejects.toThrow();
    await run.exited;
    expect(run.output()).not.toContain('syrupd stopped');
  }

  /** The state file names exactly `ids`, and no operation is under way. */
  function expectState(f: DaemonFiles, ids: readonly string[]): StateFile {
    const state = JSON.parse(readFileSync(f.stateFile, 'utf8')) as StateFile;
    expect(state.deployments.map((d) => d.id).sort()).toEqual([...ids].sort());
    expect(state.intents).toBeUndefined();
    return state;
  }

  /** The pin root holds exactly the listed deployments' directories (plus `shared` when an XDP deployment is listed). */
  function expectPins(f: DaemonFiles, ids: readonly string[], shared = false): void {
    const entries = existsSync(f.pinRoot) ? readdirSync(f.pinRoot).sort() : [];
    expect(entries).toEqual([...ids, ...(shared ? ['shared'] : [])].sort());
  }

  /** Where 40 datagrams land: per socket, how many. */
  async function placement(app: UdpServer, from: Flows): Promise<number[]> {
    await app.reset();
    for (let seq = 0; seq < 40; seq++) await from.send(app.port, seq);
    return (await receivedAll(app, 40)).map((seqs) => seqs.length);
  }

  /**
   * No program steers the group: every datagram arrives, those the policy would drop too, and
   * each flow stays on one socket, as the kernel's hash keeps it (the modulo policy would spread
   * every flow over two).
   */
  async function expectDefault(app: UdpServer, from: Flows): Promise<void> {
    await app.reset();
    const seqs = [...Array.from({ length: FLOWS * 5 }, (_, k) => k), ...Array.from({ length: FLOWS }, (_, k) => DROP_FROM + k)];
    for (const seq of seqs) await from.send(app.port, seq);
    const received = await receivedAll(app, seqs.length);
    expect(received.flat().sort((a, b) => a - b)).toEqual(seqs);
    const perFlow = Array.from({ length: FLOWS }, () => new Set<number>());
    received.forEach((seqs, socket) => seqs.forEach((seq) => perFlow[seq % FLOWS]?.add(socket)));
    expect(perFlow.map((s) => s.size)).toEqual(Array.from({ length: FLOWS }, () => 1));
  }

  /** The application exits: its deployments end, and nothing of them is left (pins, records, intents). */
  async function expectExitLeavesNothing(f: DaemonFiles, c: SyrupClient, app: UdpServer): Promise<void> {
    await app.kill();
    const killed = Date.now();
    while ((await c.deployments()).length > 0 && Date.now() - killed < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(await c.deployments()).toEqual([]);
    expectPins(f, []);
    expectState(f, []);
  }

  it.each(SOCKET_DEPLOY)('socket-select deploy, crash at %s', async (point) => {
    const f = files();
    const app = await server();
    const from = await flows();
    const first = await daemon(f, point);
    const options = { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } } as const;
    await crashesDuring(first, (await client(f)).deploy(PAYLOAD_MODULO, options));

    await daemon(f);
    const c = await client(f);
    const listed = (await c.deployments()).map((d) => d.id);
    // Recorded is kept; anything short of the record is rolled back.
    expect(listed).toHaveLength(point === 'deploy-after-record' ? 1 : 0);
    expectState(f, listed);
    expectPins(f, listed);
    if (listed.length === 1) {
      expect(await placement(app, from)).toEqual([10, 10, 10, 10]);
    } else {
      await expectDefault(app, from);
      // The group's sockets are in no socket array: a new deployment takes them, and steers.
      const again = await c.deploy(PAYLOAD_MODULO, options);
      expect(await placement(app, from)).toEqual([10, 10, 10, 10]);
      expectPins(f, [again.id]);
    }
    await expectExitLeavesNothing(f, c, app);
  });

  it.each(REPLACE)('socket-select replace, crash at %s', async (point) => {
    const f = files();
    const app = await server();
    const from = await flows();
    const first = await daemon(f, point);
    const c1 = await client(f);
    const d = await c1.deploy(PAYLOAD_MODULO, { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } });
    await crashesDuring(first, d.replace(PAYLOAD_MODULO, { params: { SOCKETS: 2 } }));

    await daemon(f);
    const c = await client(f);
    // Exactly one of the two policies steers, and it is the one the state file names.
    expect((await c.deployments()).map((i) => i.id)).toEqual([d.id]);
    const state = expectState(f, [d.id]);
    const sockets = state.deployments[0]?.policy.params?.['SOCKETS'];
    expect(sockets).toBe(point === 'replace-after-record' ? 2 : 4);
    expect(await placement(app, from)).toEqual(sockets === 2 ? [20, 20, 0, 0] : [10, 10, 10, 10]);
    expectPins(f, [d.id]);
    expect(readdirSync(join(f.pinRoot, d.id)).sort()).toEqual(['maps', 'prog', 'sockarray']);
    await expectExitLeavesNothing(f, c, app);
  });

  it.each(UNDEPLOY)('socket-select undeploy, crash at %s', async (point) => {
    const f = files();
    const app = await server();
    const from = await flows();
    const first = await daemon(f, point);
    const c1 = await client(f);
    const options = { hook: 'socket-select', port: app.port, pid: app.pid, params: { SOCKETS } } as const;
    const d = await c1.deploy(PAYLOAD_MODULO, options);
    await crashesDuring(first, d.undeploy());

    await daemon(f);
    const c = await client(f);
    // The undeploy was asked for: it is finished, whatever step the crash came at.
    expect(await c.deployments()).toEqual([]);
    expectState(f, []);
    expectPins(f, []);
    await expectDefault(app, from);
    const again = await c.deploy(PAYLOAD_MODULO, options);
    expect(await placement(app, from)).toEqual([10, 10, 10, 10]);
    expectPins(f, [again.id]);
    await expectExitLeavesNothing(f, c, app);
  });

  describe('at xdp-skb', () => {
    /** The ports the interface's dispatcher routes, read from its pinned routes map. */
    function routedPorts(f: DaemonFiles): number[] {
      const shared = join(f.pinRoot, 'shared');
      if (!existsSync(shared)) return [];
      const ports: number[] = [];
      for (const dir of readdirSync(shared)) {
        using routes = KernelMap.open(join(shared, dir, 'routes'));
        for (let key = routes.nextKey(); key !== undefined; key = routes.nextKey(key)) ports.push(new DataView(key.buffer, key.byteOffset).getUint32(0, true));
      }
      return ports.sort((a, b) => a - b);
    }

    const cases = [...XDP_DEPLOY.map((point) => ({ point, anchor: true })), { point: 'xdp-after-route' as const, anchor: false }, { point: 'deploy-after-persist' as const, anchor: false }];
    it.each(cases)('deploy, crash at $point (another deployment on the interface: $anchor)', async ({ point, anchor }) => {
      const net: VethNamespaces = createVethNamespaces({ prefix: 'syrup-crash', subnet: '10.197.0' });
      cleanup.push(() => net.remove());
      const f = files();
      const target = (port: number) => ({ hook: 'xdp-skb', interface: net.ifA, port, extra: { netns: net.nsA } }) as const;
      let kept: unknown;
      if (anchor) {
        // Deployed before the daemon is armed (the point would fire in this deploy too), and kept through a clean stop.
        const before = await daemon(f);
        kept = await (await client(f)).deploy(COUNT, target(41_801));
        expect(await before.kill('SIGTERM')).toBe(0);
      }
      const first = await daemon(f, point);
      await crashesDuring(first, (await client(f)).deploy(COUNT, target(41_802)));

      await daemon(f);
      const c = await client(f);
      const listed = await c.deployments();
      const expected = [...(kept === undefined ? [] : [41_801]), ...(point === 'deploy-after-record' ? [41_802] : [])];
      // Listed = routed: the dispatcher serves exactly the listed ports, and runs only while one is listed.
      expect(listed.map((d) => d.target.port).sort()).toEqual(expected);
      expect(routedPorts(f)).toEqual(expected);
      expect(xdpProgIds(net.nsA, net.ifA)).toHaveLength(expected.length > 0 ? 1 : 0);
      expectState(f, listed.map((d) => d.id));
      expectPins(f, listed.map((d) => d.id), expected.length > 0);

      // Undeploying what is listed leaves the interface, the pin root and the state file empty.
      for (const d of listed) await (await c.deployment(d.id)).undeploy();
      expect(xdpProgIds(net.nsA, net.ifA)).toEqual([]);
      expectPins(f, []);
      expectState(f, []);
    });

    const PORT = 41_803;
    async function deployedOnFreshInterface(point: CrashPoint): Promise<{ net: VethNamespaces; f: DaemonFiles; first: DaemonRun; id: string; replace: () => Promise<unknown>; undeploy: () => Promise<unknown> }> {
      const net = createVethNamespaces({ prefix: 'syrup-crash', subnet: '10.197.0' });
      cleanup.push(() => net.remove());
      const f = files();
      const first = await daemon(f, point);
      const d = await (await client(f)).deploy(COUNT, { hook: 'xdp-skb', interface: net.ifA, port: PORT, extra: { netns: net.nsA } });
      return { net, f, first, id: d.id, replace: () => d.replace(COUNT_TWICE), undeploy: () => d.undeploy() };
    }

    it.each(REPLACE)('replace, crash at %s', async (point) => {
      const { net, f, first, id, replace } = await deployedOnFreshInterface(point);
      await crashesDuring(first, replace());

      await daemon(f);
      const c = await client(f);
      const listed = await c.deployments();
      expect(listed.map((d) => d.id)).toEqual([id]);
      const twice = point === 'replace-after-record';
      expect(listed[0]?.policy).toBe(twice ? 'count-twice' : 'count-udp');
      expectState(f, [id]);
      expectPins(f, [id], true);
      expect(readdirSync(join(f.pinRoot, id)).sort()).toEqual(['executors', 'maps', 'prog']);
      expect(routedPorts(f)).toEqual([PORT]);
      // The listed policy is the one that runs: it counts one, or two, per datagram.
      const seen = (await c.deployment(id)).maps['seen'];
      const before = (await seen?.get(0)) as bigint;
      sendFrom(net.nsB, net.ipA, PORT, 20);
      const expected = before + (twice ? 40n : 20n);
      const deadline = Date.now() + 3000;
      while ((await seen?.get(0)) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await seen?.get(0)).toBe(expected);

      await (await c.deployment(id)).undeploy();
      expect(xdpProgIds(net.nsA, net.ifA)).toEqual([]);
      expectPins(f, []);
      expectState(f, []);
    });

    it.each(['undeploy-after-intent', 'undeploy-after-close'] as const)('undeploy, crash at %s', async (point) => {
      const { net, f, first, undeploy } = await deployedOnFreshInterface(point);
      await crashesDuring(first, undeploy());

      await daemon(f);
      const c = await client(f);
      expect(await c.deployments()).toEqual([]);
      expect(routedPorts(f)).toEqual([]);
      expect(xdpProgIds(net.nsA, net.ifA)).toEqual([]);
      expectPins(f, []);
      expectState(f, []);
    });
  });
});
