import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '../../../src/pin/bpffs.js';
import { join } from 'node:path';
import { RestoreError, type DeployTarget, type PersistedAttachment, type PersistenceLocation, type RestoreRequest } from '@syrup/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { KernelDataMapStore } from '../../../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../../../src/maps/kernel-map.js';
import { unpin } from '../../../src/pin/pin.js';
import { MapType } from '../../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, uniqueSuffix, xdpAttachment, type VethPair } from '../../support/veth-pair.js';
import { compileFor, receiveWaiting, sockaddrIn, udpSocketIn, waitUntil, xdpBackend } from './xdp-test-support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/** A persistence location whose state and pin directories are one test directory (`path`). */
type PinDirectory = PersistenceLocation & { readonly path: string };

const PORT = 41_600;
const OTHER_PORT = 41_601;
const SRC_PORT = 42_600;
const TENANT = { uid: 4242, gid: 4343 };

describeKernel('XDP persistence: pins, release, restore', { needs: ['bpf', 'bpffs', 'netns', 'xdp-skb', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  const backend = xdpBackend();
  const cleanup: (() => unknown)[] = [];
  let pair: VethPair;
  let root: string;

  beforeEach(() => {
    pair = createVethPair();
    cleanup.push(() => pair.remove());
    root = ensureBpffs(`${BPFFS_MOUNT_POINT}/syrup-test-xdp-pins-${uniqueSuffix()}`);
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Keep cleaning up.
      }
    }
  });

  function dirFor(name: string): PinDirectory {
    const path = ensureBpffs(join(root, name));
    return { path, stateDir: path, pinDir: path, tenant: TENANT, sharedPinDir: join(root, 'shared') };
  }

  function targetOn(port: number): DeployTarget {
    return { interface: pair.ifA, port, extra: { netns: pair.nsA } };
  }

  async function deploy(port: number, file = 'count-pass.ts'): Promise<XdpAttachment> {
    const target = targetOn(port);
    const attachment = (await backend.attach({ artifact: await compileFor(backend, 'xdp-skb', file, target), target })) as XdpAttachment;
    cleanup.push(() => attachment.close());
    return attachment;
  }

  async function restore(record: PersistedAttachment, dir: PinDirectory, port: number): Promise<XdpAttachment> {
    const request: RestoreRequest = { record, location: dir, target: targetOn(port) };
    const attachment = (await backend.restore(request)) as XdpAttachment;
    cleanup.push(() => attachment.close());
    return attachment;
  }

  /** Sends `count` datagrams from the peer namespace to `port` and waits until the pinned counter shows them. */
  async function send(port: number, count: number, counter: () => bigint, expected: bigint): Promise<void> {
    using sender = udpSocketIn(sys, pair.nsB, pair.ipB, SRC_PORT);
    for (let i = 0; i < count; i++) sys.sendto(sender, new Uint8Array([1, 2, 3, 4, i]), 0, sockaddrIn(pair.ipA, port));
    await waitUntil(() => counter() === expected);
    expect(counter()).toBe(expected);
  }

  function pinnedCounter(dir: PinDirectory): () => bigint {
    return () => {
      using store = KernelDataMapStore.open(join(dir.path, 'maps/seen'));
      return store.lookup(0)?.[0] ?? -1n;
    };
  }

  function dispatcherDir(): string {
    const [name] = readdirSync(join(root, 'shared'));
    if (name === undefined) throw new Error('no dispatcher pins');
    return join(root, 'shared', name);
  }

  it('pins policy, maps and dispatcher with the right owners, keeps counting after release, and restores both deployments onto one dispatcher', async () => {
    const first = await deploy(PORT);
    const second = await deploy(OTHER_PORT);
    const dirA = dirFor('a');
    const dirB = dirFor('b');
    const record = first.persist!(dirA);
    const recordB = second.persist!(dirB);
    const info = first.program.info();
    expect(record.objects).toEqual([
      { kind: 'prog', role: 'program', identity: { pin: 'prog', id: info.id, tag: info.tag } },
      { kind: 'map', role: 'executors', identity: { pin: 'executors', id: first.executors.kernelMap.info().id } },
      { kind: 'map', role: 'data-map', name: 'seen', identity: { pin: 'maps/seen', id: (first.maps.get('seen') as KernelDataMapStore).kernelMap.info().id } },
    ]);
    expect(record.pid).toBeUndefined();
    expect(record.data).toMatchObject({ ifname: pair.ifA, ifindex: pair.ifindexA, netns: pair.nsA, port: PORT, slot: first.route.slot, mode: 'skb', executors: 'none' });
    for (const pin of ['prog', 'executors']) expect(statSync(join(dirA.path, pin))).toMatchObject({ uid: 0, mode: 0o100600 });
    expect(statSync(join(dirA.path, 'maps/seen'))).toMatchObject({ uid: TENANT.uid, gid: TENANT.gid, mode: 0o100600 });
    // One dispatcher directory for the interface, root-only, shared by both records.
    const shared = dispatcherDir();
    expect(readdirSync(join(root, 'shared'))).toHaveLength(1);
    expect(statSync(shared).mode & 0o777).toBe(0o700);
    expect(readdirSync(shared).sort()).toEqual(['link', 'policies', 'prog', 'routes']);
    for (const pin of readdirSync(shared)) expect(statSync(join(shared, pin))).toMatchObject({ uid: 0, mode: 0o100600 });
    expect(recordB.data['dispatcher']).toEqual(record.data['dispatcher']);
    const dispatcherProg = first.route.dispatcher.program.info().id;

    const counter = pinnedCounter(dirA);
    await send(PORT, 5, counter, 5n);
    const stored = JSON.parse(JSON.stringify(record)) as PersistedAttachment;
    const storedB = JSON.parse(JSON.stringify(recordB)) as PersistedAttachment;

    // Released as by a dying daemon: this process holds nothing, the dispatcher stays attached and the policy counts.
    await first.release!();
    await second.release!();
    expect(backend.dispatchers.running(pair.ifindexA, pair.nsA)).toBeUndefined();
    expect(xdpAttachment(pair.nsA, pair.ifA)?.progIds).toEqual([dispatcherProg]);
    using receiver = udpSocketIn(sys, pair.nsA, pair.ipA, PORT);
    await send(PORT, 7, counter, 12n);
    expect(receiveWaiting(receiver)).toHaveLength(7);

    const a = await restore(stored, dirA, PORT);
    const b = await restore(storedB, dirB, OTHER_PORT);
    expect((a.maps.get('seen') as KernelDataMapStore).lookup(0)).toEqual([12n]);
    expect(a.program.info().id).toBe(info.id);
    // One dispatcher object for both, opened once from the pins.
    expect(a.route.dispatcher).toBe(b.route.dispatcher);
    expect(backend.dispatchers.running(pair.ifindexA, pair.nsA)).toBe(a.route.dispatcher);
    expect(new Map(a.route.dispatcher.ports)).toEqual(new Map([[PORT, first.route.slot], [OTHER_PORT, second.route.slot]]));

    // Replace through the restored attachment: the map carries over, the pins follow.
    await a.replace(await compileFor(backend, 'xdp-skb', 'count-ten.ts', targetOn(PORT)));
    const again = a.persist!(dirA);
    expect(again.objects.find((o) => o.role === 'program')?.identity['id']).toBe(a.program.info().id);
    expect(again.objects.find((o) => o.role === 'program')?.identity['id']).not.toBe(info.id);
    await send(PORT, 3, counter, 42n);

    // The other deployment goes: the dispatcher stays for the first.
    await b.close();
    expect(existsSync(join(dirB.path, 'prog'))).toBe(false);
    expect(xdpAttachment(pair.nsA, pair.ifA)?.progIds).toEqual([dispatcherProg]);
    await send(PORT, 1, () => (a.maps.get('seen') as KernelDataMapStore).lookup(0)?.[0] ?? -1n, 52n);

    // The last one goes: pins removed, the dispatcher detached.
    await a.close();
    for (const pin of ['prog', 'executors', 'maps/seen']) expect(existsSync(join(dirA.path, pin))).toBe(false);
    expect(existsSync(shared)).toBe(false);
    expect(xdpAttachment(pair.nsA, pair.ifA)).toBeUndefined();
    expect(backend.dispatchers.running(pair.ifindexA, pair.nsA)).toBeUndefined();
  }, 60_000);

  it('refuses a tampered pin (policy map or dispatcher map) with RESTORE_UNTRUSTED, leaves it alone and keeps no fd', async () => {
    const attachment = await deploy(PORT);
    const dir = dirFor('a');
    const record = JSON.parse(JSON.stringify(attachment.persist!(dir))) as PersistedAttachment;
    await attachment.release!();

    using foreign = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'seen', mmapable: true });
    unpin(join(dir.path, 'maps/seen'));
    foreign.kernelMap.pin(join(dir.path, 'maps/seen'));
    const before = openFdCount();
    const refusal = await backend.restore({ record, location: dir, target: targetOn(PORT) }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RestoreError);
    expect(refusal).toMatchObject({ code: 'RESTORE_UNTRUSTED', message: expect.stringContaining(`has id ${foreign.kernelMap.info().id}`) });
    expect(openFdCount()).toBe(before);
    expect(existsSync(join(dir.path, 'maps/seen'))).toBe(true);
    // The dispatcher was not touched: still attached through its pin.
    expect(xdpAttachment(pair.nsA, pair.ifA)).toBeDefined();

    // A routes map swapped into the dispatcher's pins is refused the same way.
    using impostor = KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
    const routes = join(dispatcherDir(), 'routes');
    unpin(routes);
    impostor.pin(routes);
    const beforeRoutes = openFdCount();
    await expect(backend.restore({ record, location: dir, target: targetOn(PORT) })).rejects.toMatchObject({
      code: 'RESTORE_UNTRUSTED',
      message: expect.stringContaining(`the routes pinned at 'routes' has id ${impostor.info().id}`),
    });
    expect(openFdCount()).toBe(beforeRoutes);
  }, 60_000);

  it('leaks no fd over restore and release cycles, nor over a final restore and close', async () => {
    const attachment = await deploy(PORT);
    const dir = dirFor('a');
    const record = JSON.parse(JSON.stringify(attachment.persist!(dir))) as PersistedAttachment;
    await attachment.release!();
    const before = openFdCount();
    for (let cycle = 0; cycle < 5; cycle++) {
      const restored = (await backend.restore({ record, location: dir, target: targetOn(PORT) })) as XdpAttachment;
      await restored.release!();
      expect(openFdCount()).toBe(before);
    }
    const last = await backend.restore({ record, location: dir, target: targetOn(PORT) });
    await last.close();
    expect(openFdCount()).toBe(before);
    expect(existsSync(join(dir.path, 'prog'))).toBe(false);
    expect(xdpAttachment(pair.nsA, pair.ifA)).toBeUndefined();
  }, 60_000);

  it('lets a new deployment join the dispatcher a released one left pinned, and restores cpu-redirect with its CPU map', async () => {
    const target = { interface: pair.ifA, port: PORT, extra: { netns: pair.nsA, cpus: [0], mode: 'skb' } };
    const cpu = (await backend.attach({ artifact: await compileFor(backend, 'cpu-redirect', 'count-pass.ts', target), target })) as XdpAttachment;
    cleanup.push(() => cpu.close());
    const dir = dirFor('cpu');
    const record = JSON.parse(JSON.stringify(cpu.persist!(dir))) as PersistedAttachment;
    expect(record.data).toMatchObject({ executors: 'cpu', cpus: [0], mode: 'skb' });
    const dispatcherProg = cpu.route.dispatcher.program.info().id;
    await cpu.release!();
    expect(backend.dispatchers.running(pair.ifindexA, pair.nsA)).toBeUndefined();

    // A fresh attach would be refused (the pinned dispatcher holds the interface): the new one joins it through its pins.
    const other = await deploy(OTHER_PORT, 'count-pass.ts');
    expect(other.route.dispatcher.program.info().id).toBe(dispatcherProg);
    await send(OTHER_PORT, 2, () => (other.maps.get('seen') as KernelDataMapStore).lookup(0)?.[0] ?? -1n, 2n);
    const restored = (await backend.restore({ record, location: dir, target })) as XdpAttachment;
    cleanup.push(() => restored.close());
    expect(restored.executors.kernelMap.info().id).toBe(record.objects.find((o) => o.role === 'executors')?.identity['id']);
    await send(PORT, 4, pinnedCounter(dir), 4n);
    expect(restored.route.dispatcher).toBe(other.route.dispatcher);
    await other.close();
    expect(xdpAttachment(pair.nsA, pair.ifA)?.progIds).toEqual([dispatcherProg]);
    await restored.close();
    expect(xdpAttachment(pair.nsA, pair.ifA)).toBeUndefined();
    expect(readdirSync(join(root, 'shared'))).toEqual([]);
  }, 60_000);

  it('drops the routes of AF_XDP policies (bound to a queue) when it opens a dispatcher from its pins: their sockets died with their process', async () => {
    const attachment = await deploy(PORT);
    const dir = dirFor('a');
    const record = JSON.parse(JSON.stringify(attachment.persist!(dir))) as PersistedAttachment;
    await attachment.release!();
    const u32s = (...values: number[]): Uint8Array => {
      const bytes = new Uint8Array(values.length * 4);
      values.forEach((v, i) => new DataView(bytes.buffer).setUint32(i * 4, v, true));
      return bytes;
    };
    using routes = KernelMap.open(join(dispatcherDir(), 'routes'));
    // What an AF_XDP deployment of a killed process leaves: its port routed to a slot for queue 0 (stored as 1).
    routes.update(u32s(OTHER_PORT), u32s(9, 1));
    const restored = await restore(record, dir, PORT);
    expect(routes.lookup(u32s(OTHER_PORT))).toBeUndefined();
    expect(routes.lookup(u32s(PORT))).toEqual(u32s(restored.route.slot, 0));
  }, 60_000);

  it('says RESTORE_TARGET_GONE when the interface went away, and removes the dispatcher pins', async () => {
    const attachment = await deploy(PORT);
    const dir = dirFor('a');
    const record = JSON.parse(JSON.stringify(attachment.persist!(dir))) as PersistedAttachment;
    await attachment.release!();
    const shared = dispatcherDir();
    pair.remove();
    // The kernel destroys a deleted namespace's devices asynchronously (its netns cleanup
    // work), so for a moment the interface, and the link on it, may still be there.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const outcome = await backend.restore({ record, location: dir, target: targetOn(PORT) }).then(
        (restored) => restored,
        (error: unknown) => error,
      );
      if (!(outcome instanceof XdpAttachment)) {
        expect(outcome).toMatchObject({ code: 'RESTORE_TARGET_GONE' });
        break;
      }
      await outcome.release!();
      if (Date.now() > deadline) throw new Error('the interface was still there 10 s after its namespace was deleted');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(existsSync(shared)).toBe(false);
  }, 60_000);

  it('does not persist a policy with AF_XDP executors, and refuses a record of one with RESTORE_UNSUPPORTED', async () => {
    const target = { interface: pair.ifA, port: PORT, extra: { netns: pair.nsA, xskCount: 1 } };
    const xsk = (await backend.attach({ artifact: await compileFor(backend, 'xdp-skb', 'count-pass.ts', target), target })) as XdpAttachment;
    cleanup.push(() => xsk.close());
    expect(xsk.persist).toBeUndefined();
    expect(xsk.release).toBeUndefined();
    const record: PersistedAttachment = {
      backend: 'ebpf',
      hook: 'xdp-skb',
      objects: [],
      data: { ifname: pair.ifA, ifindex: pair.ifindexA, netnsId: '0:0', port: PORT, slot: 0, mode: 'skb', executors: 'xsk', dispatcher: { dir: 'x', objects: [] } },
    };
    await expect(backend.restore({ record, location: dirFor('x'), target })).rejects.toMatchObject({ code: 'RESTORE_UNSUPPORTED', message: expect.stringContaining('AF_XDP executors') });
  }, 60_000);
});
