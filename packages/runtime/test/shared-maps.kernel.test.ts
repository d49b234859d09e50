// Cross-layer communication through maps shared by name (shareMaps), on real sockets: two
// deployments of one tenant at two socket groups count into one kernel map, another tenant
// sharing the same name counts into its own, and the map outlives the deployment that made it.
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { KernelDataMapStore } from '@syrup/backend-ebpf/maps';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '@syrup/backend-ebpf/pin';
import { registerHookRegistry, type ManagedDeployment, type PolicySource } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { container } from 'tsyringe';
import { afterEach, expect, it } from 'vitest';
import { RuntimePersistenceOptions, RuntimeService, type Caller } from '../src/index.js';
import { REUSEPORT_SERVER, send } from './support/udp.js';
import { createVethNamespaces, sendFrom } from './support/veth.js';

/** Counts each datagram in `seen[KEY]` and steers it to the group's first socket. */
function counting(name: string, entries = 2): PolicySource {
  return {
    fileName: `${name}.ts`,
    text: [
      "import { definePolicy } from '@syrup/core';",
      'export default definePolicy({',
      `  name: '${name}',`,
      "  input: 'udp',",
      `  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: ${entries} } },`,
      '  params: { KEY: 0 },',
      '  schedule(pkt, { seen }, { KEY }) { seen.fetchAdd(KEY, 1); return 0; },',
      '});',
      '',
    ].join('\n'),
  };
}

/** Counts each datagram in `seen[KEY]` and lets it through: the XDP half of the cross-layer pair. */
const XDP_COUNTING: PolicySource = {
  fileName: 'xdp-counting.ts',
  text: [
    "import { definePolicy, PASS } from '@syrup/core';",
    'export default definePolicy({',
    "  name: 'xdp-counting',",
    "  input: 'udp',",
    "  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 } },",
    '  params: { KEY: 1 },',
    '  schedule(pkt, { seen }, { KEY }) { seen.fetchAdd(KEY, 1); return PASS; },',
    '});',
    '',
  ].join('\n'),
};

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly pid: number;
}

/** An unmodified Python UDP server (one SO_REUSEPORT socket on loopback) running as `uid`. */
async function serverAs(uid: number): Promise<Server> {
  const child = spawn(PYTHON, [REUSEPORT_SERVER, '1'], { uid, gid: uid, stdio: ['pipe', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the server of uid ${uid} exited with ${code}`)));
  });
  const hello = JSON.parse(line) as { port: number; pid: number };
  return { child, port: hello.port, pid: hello.pid };
}

/** A runtime service with the eBPF backend, persisting to `persistence` when given. */
function serviceWith(persistence?: RuntimePersistenceOptions): RuntimeService {
  const child = container.createChildContainer();
  registerHookRegistry(child);
  ebpfBackendModule.register(child);
  if (persistence !== undefined) child.register(RuntimePersistenceOptions, { useValue: persistence });
  child.registerSingleton(RuntimeService);
  return child.resolve(RuntimeService);
}

/** Polls `read` until it equals `want` (3 s at most) and returns the last reading. */
async function settle(read: () => Promise<bigint[]>, want: bigint[]): Promise<bigint[]> {
  let now: bigint[] = [];
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    now = await read();
    if (now.join() === want.join()) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return now;
}

function kernelMapId(deployment: ManagedDeployment, name: string): number {
  const store = deployment.attachment?.maps.get(name);
  if (!(store instanceof KernelDataMapStore)) throw new Error(`map '${name}' is not a kernel map`);
  return store.kernelMap.info().id;
}

/** A Python other uids can run (root's PATH may lead to a shim under /root). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TENANT = 61_000;
const OTHER = 61_001;

describeKernel('maps shared by name across deployments of one tenant (eBPF)', { needs: ['bpf', 'bpffs', 'netns', 'xdp-skb'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('joins two socket groups of one uid through one kernel map, keeps another uid apart, refuses another shape, and survives its creator', async () => {
    const service = serviceWith();
    cleanup.push(() => service.close());
    const [first, second, foreign] = await Promise.all([serverAs(TENANT), serverAs(TENANT), serverAs(OTHER)]);
    for (const server of [first, second, foreign]) cleanup.push(() => server.child.kill());
    const tenant: Caller = { uid: TENANT, gid: TENANT, pid: first.pid };
    const other: Caller = { uid: OTHER, gid: OTHER, pid: foreign.pid };

    const a = await service.deploy(counting('count-a'), { hook: 'socket-select', port: first.port, params: { KEY: 0 }, shareMaps: ['seen'] }, tenant);
    const b = await service.deploy(counting('count-b'), { hook: 'socket-select', port: second.port, params: { KEY: 1 }, shareMaps: ['seen'] }, tenant);
    const c = await service.deploy(counting('count-c'), { hook: 'socket-select', port: foreign.port, params: { KEY: 0 }, shareMaps: ['seen'] }, other);
    // One kernel map for the tenant's two deployments; the other tenant's `seen` is another map.
    expect(kernelMapId(a, 'seen')).toBe(kernelMapId(b, 'seen'));
    expect(kernelMapId(c, 'seen')).not.toBe(kernelMapId(a, 'seen'));

    await send(first.port, 20);
    await send(second.port, 30);
    await send(foreign.port, 7);
    const seen = async (d: ManagedDeployment, key: number): Promise<bigint> => (await d.maps['seen']?.get(key)) as bigint;
    const counted = async (): Promise<bigint[]> => [await seen(a, 0), await seen(a, 1), await seen(b, 0), await seen(b, 1), await seen(c, 0), await seen(c, 1)];
    // a reads what b's program counted (key 1) and b what a's counted (key 0); c saw only its own 7.
    expect(await settle(counted, [20n, 30n, 20n, 30n, 7n, 0n])).toEqual([20n, 30n, 20n, 30n, 7n, 0n]);

    await expect(service.deploy(counting('wide', 8), { hook: 'socket-select', port: first.port, params: { KEY: 0 }, shareMaps: ['seen'] }, tenant)).rejects.toMatchObject({
      code: 'SHARED_MAP_MISMATCH',
      message: `map 'seen' is shared among uid ${TENANT}'s deployments as an array of 2 u32 -> u64 entries, but policy 'wide' declares it as an array of 8 u32 -> u64 entries, so it cannot use the shared map.`,
    });

    // The creator goes; b's program and b's view keep the same map, counts included.
    await service.undeploy(a.id, tenant);
    await send(second.port, 10);
    expect(await settle(async () => [await seen(b, 0), await seen(b, 1)], [20n, 40n])).toEqual([20n, 40n]);
    expect((await service.deployments()).map((d) => [d.policy, d.owner, d.sharedMaps])).toEqual([
      ['count-b', TENANT, ['seen']],
      ['count-c', OTHER, ['seen']],
    ]);
  });

  it('joins the shared map again after a restart: the state file records the sharing, recovery matches the pinned map ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-shared-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const pinRoot = ensureBpffs(`${BPFFS_MOUNT_POINT}/syrup-shared-${randomBytes(4).toString('hex')}`);
    cleanup.push(() => rmSync(pinRoot, { recursive: true, force: true }));
    const persistence = { pinRoot, stateRoot: join(dir, 'deployments'), stateFile: join(dir, 'state.json') };
    const [first, second, third] = await Promise.all([serverAs(TENANT), serverAs(TENANT), serverAs(TENANT)]);
    for (const server of [first, second, third]) cleanup.push(() => server.child.kill());
    const tenant: Caller = { uid: TENANT, gid: TENANT, pid: first.pid };

    const before = serviceWith(persistence);
    const a = await before.deploy(counting('count-a'), { hook: 'socket-select', port: first.port, params: { KEY: 0 }, shareMaps: ['seen'] }, tenant);
    const b = await before.deploy(counting('count-b'), { hook: 'socket-select', port: second.port, params: { KEY: 1 }, shareMaps: ['seen'] }, tenant);
    const mapId = kernelMapId(a, 'seen');
    const state = JSON.parse(readFileSync(persistence.stateFile, 'utf8')) as { deployments: { id: string; sharedMaps?: string[] }[] };
    expect(state.deployments.map((d) => [d.id, d.sharedMaps])).toEqual([
      [a.id, ['seen']],
      [b.id, ['seen']],
    ]);
    // The daemon stops (deployments stay attached and pinned), and a new one recovers them.
    await before.close();
    const after = serviceWith(persistence);
    cleanup.push(() => after.close());
    expect((await after.recover()).restored).toEqual([a.id, b.id]);
    const [ra, rb] = [after.get(a.id), after.get(b.id)];
    expect([kernelMapId(ra, 'seen'), kernelMapId(rb, 'seen')]).toEqual([mapId, mapId]);
    // A newcomer sharing `seen` joins the recovered map, not a fresh one.
    const c = await after.deploy(counting('count-c'), { hook: 'socket-select', port: third.port, params: { KEY: 0 }, shareMaps: ['seen'] }, tenant);
    expect(kernelMapId(c, 'seen')).toBe(mapId);
    await send(first.port, 4);
    await send(second.port, 6);
    await send(third.port, 5);
    const seen = async (d: ManagedDeployment, key: number): Promise<bigint> => (await d.maps['seen']?.get(key)) as bigint;
    // a's and c's programs both count under key 0; b's under key 1; every view reads the one map.
    expect(await settle(async () => [await seen(c, 0), await seen(c, 1), await seen(ra, 1)], [9n, 6n, 6n])).toEqual([9n, 6n, 6n]);
    // The restored creator goes; the newcomer keeps the map.
    await after.undeploy(a.id, tenant);
    await send(second.port, 1);
    expect(await settle(async () => [await seen(c, 0), await seen(c, 1)], [9n, 7n])).toEqual([9n, 7n]);
    await after.undeploy(b.id, tenant);
    await after.undeploy(c.id, tenant);
  });

  it('shares one map between a socket-select deployment and an xdp-skb one of the same owner (cross-layer)', async () => {
    const net = createVethNamespaces({ prefix: 'syrup-xl', subnet: '10.197.0' });
    cleanup.push(() => net.remove());
    const service = serviceWith();
    cleanup.push(() => service.close());
    const server = await serverAs(TENANT);
    cleanup.push(() => server.child.kill());
    const owner: Caller = { uid: 0, gid: 0, pid: process.pid };
    const select = await service.deploy(counting('select-count'), { hook: 'socket-select', port: server.port, pid: server.pid, params: { KEY: 0 }, shareMaps: ['seen'] }, owner);
    const xdpPort = 9000 + Math.floor(Math.random() * 1000);
    const xdp = await service.deploy(XDP_COUNTING, { hook: 'xdp-skb', interface: net.ifA, port: xdpPort, extra: { netns: net.nsA }, shareMaps: ['seen'] }, owner);
    expect(kernelMapId(xdp, 'seen')).toBe(kernelMapId(select, 'seen'));
    await send(server.port, 3);
    sendFrom(net.nsB, net.ipA, xdpPort, 8);
    const seen = async (d: ManagedDeployment, key: number): Promise<bigint> => (await d.maps['seen']?.get(key)) as bigint;
    // The socket layer's count is read through the XDP deployment and the XDP layer's through the socket one.
    expect(await settle(async () => [await seen(xdp, 0), await seen(select, 1)], [3n, 8n])).toEqual([3n, 8n]);
    // Positive control of the port filter: datagrams to another port never reach the XDP policy.
    sendFrom(net.nsB, net.ipA, xdpPort + 1, 5);
    await send(server.port, 1);
    expect(await settle(async () => [await seen(select, 0), await seen(select, 1)], [4n, 8n])).toEqual([4n, 8n]);
    await service.undeploy(select.id);
    sendFrom(net.nsB, net.ipA, xdpPort, 2);
    expect(await settle(async () => [await seen(xdp, 0), await seen(xdp, 1)], [4n, 10n])).toEqual([4n, 10n]);
  });
});
