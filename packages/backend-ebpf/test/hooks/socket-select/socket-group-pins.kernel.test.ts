import { existsSync, rmSync, statSync } from 'node:fs';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '../../../src/pin/bpffs.js';
import { join } from 'node:path';
import { RestoreError, STANDARD_HOOKS, type DeployTarget, type PersistedAttachment, type PersistenceLocation, type RestoreRequest } from '@syrup/core';

/** A persistence location whose state and pin directories are one test directory (`path`). */
type PinDirectory = PersistenceLocation & { readonly path: string };
import { afterEach, expect, it } from 'vitest';
import { EbpfBackend } from '../../../src/ebpf-backend.js';
import type { EbpfArtifact } from '../../../src/hooks/network-hook.js';
import type { SocketGroupAttachment } from '../../../src/hooks/socket-select/socket-group-attachment.js';
import { processStartTime } from '../../../src/hooks/socket-select/socket-group-pins.js';
import { SocketSelectHook } from '../../../src/hooks/socket-select/socket-select-hook.js';
import { loadProgramSpec } from '../../../src/loader/loaded-program.js';
import { KernelDataMapStore } from '../../../src/maps/kernel-data-map-store.js';
import { ReadinessPoller } from '../../../src/readiness/readiness-poller.js';
import { unpin } from '../../../src/pin/pin.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { policyUnit, pythonReceived, pythonServer, Senders, type PythonChild } from './support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const SOCKETS = 4;
const TENANT = { uid: 4242, gid: 4343 };

describeKernel('socket-select persistence: pins, release, restore', { needs: ['bpf', 'bpffs'] }, () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const backend = new EbpfBackend([new SocketSelectHook()]);

  async function compile(file: string, target: DeployTarget, params?: Record<string, number>): Promise<EbpfArtifact> {
    const unit = policyUnit(file, params);
    return (await backend.compile({ policy: unit.manifest, ir: unit.ir, hook: STANDARD_HOOKS['socket-select'], source: unit.source!, target })) as EbpfArtifact;
  }

  async function setUp(): Promise<{ server: { child: PythonChild; port: number; pid: number }; target: DeployTarget; dir: PinDirectory; senders: Senders }> {
    const server = await pythonServer(SOCKETS);
    cleanup.push(() => server.child.kill());
    const path = ensureBpffs(`${BPFFS_MOUNT_POINT}/syrup-test-pins-${process.pid}-${Math.random().toString(36).slice(2)}`);
    cleanup.push(() => rmSync(path, { recursive: true, force: true }));
    const senders = await Senders.open(5);
    cleanup.push(() => senders.close());
    return { server, target: { port: server.port, pid: server.pid }, dir: { path, stateDir: path, pinDir: path, tenant: TENANT }, senders };
  }

  async function send(senders: Senders, port: number, from: number, count: number): Promise<void> {
    for (let i = from; i < from + count; i++) await senders.send(i, port, Buffer.from([0, 0, 0, i & 0xff]));
  }

  /** Open fds once the exit-watch thread, which starts and stops with its watches, has wound down. */
  async function settledFdCount(): Promise<number> {
    await ReadinessPoller.of(nativeSyscalls()).stopped();
    return openFdCount();
  }

  function request(record: PersistedAttachment, dir: PinDirectory, target: DeployTarget, pid: number): RestoreRequest {
    return { record, location: dir, target, process: { pid, startTime: processStartTime(pid) as string } };
  }

  it('pins program and socket array root-only and data maps for the tenant, keeps steering after release, and restores maps, replace and close', async () => {
    const { server, target, dir, senders } = await setUp();
    const attachment = (await backend.attach({ artifact: await compile('std:round-robin', target, { SOCKETS }), target })) as SocketGroupAttachment;
    cleanup.push(() => attachment.close());
    const record = attachment.persist(dir);
    const info = attachment.program.info();
    expect(record.objects).toEqual([
      { kind: 'prog', role: 'program', identity: { pin: 'prog', id: info.id, tag: info.tag } },
      { kind: 'map', role: 'executors', identity: { pin: 'sockarray', id: attachment.executors.kernelMap.info().id } },
      { kind: 'map', role: 'data-map', name: 'next', identity: { pin: 'maps/next', id: attachment.maps.get('next')!.kernelMap.info().id } },
    ]);
    expect(record.pid).toBe(server.pid);
    for (const pin of ['prog', 'sockarray']) expect(statSync(join(dir.path, pin))).toMatchObject({ uid: 0, mode: 0o100600 });
    expect(statSync(join(dir.path, 'maps/next'))).toMatchObject({ uid: TENANT.uid, gid: TENANT.gid, mode: 0o100600 });
    expect(statSync(join(dir.path, 'maps')).mode & 0o777).toBe(0o755);
    // Stable across a JSON round trip, as the state file keeps it.
    const stored = JSON.parse(JSON.stringify(record)) as PersistedAttachment;

    // Released: this process holds nothing, the group still runs the program.
    await attachment.release();
    await send(senders, server.port, 0, 400);
    expect((await pythonReceived(server.child, 400)).map((l) => l.length)).toEqual([100, 100, 100, 100]);

    const restored = (await backend.restore(request(stored, dir, target, server.pid))) as SocketGroupAttachment;
    cleanup.push(() => restored.close());
    expect(restored.maps.get('next')!.lookup(0)).toEqual([400n]);
    expect(restored.program.info().id).toBe(info.id);

    // Replace through the restored attachment: one setsockopt, and the pins follow.
    await restored.replace(await compile('parity-high.ts', target));
    const again = restored.persist(dir);
    expect(again.objects.find((o) => o.role === 'program')?.identity['id']).toBe(restored.program.info().id);
    expect(again.objects.find((o) => o.role === 'program')?.identity['id']).not.toBe(info.id);
    expect(again.objects.map((o) => o.identity['pin'])).toEqual(['prog', 'sockarray', 'maps/seen']);
    // Until the runtime has recorded it, the pins still name what the state file records: the new program waits beside the old one.
    expect(existsSync(join(dir.path, 'maps/next'))).toBe(true);
    expect(existsSync(join(dir.path, 'prog-pending'))).toBe(true);
    restored.commit();
    expect(existsSync(join(dir.path, 'maps/next'))).toBe(false);
    expect(existsSync(join(dir.path, 'prog-pending'))).toBe(false);
    await server.child.ask('reset');
    await send(senders, server.port, 0, 100);
    expect((await pythonReceived(server.child, 100)).map((l) => l.length)).toEqual([0, 0, 50, 50]);

    await restored.close();
    for (const pin of ['prog', 'sockarray', 'maps/seen']) expect(existsSync(join(dir.path, pin))).toBe(false);
    // Default hashing again: a flow sticks to one socket, so 5 flows never fill exactly the policy's two.
    await server.child.ask('reset');
    await send(senders, server.port, 0, 100);
    const received = await pythonReceived(server.child, 100);
    expect(received.reduce((n, l) => n + l.length, 0)).toBe(100);
    expect(received.map((l) => l.length)).not.toEqual([0, 0, 50, 50]);
  });

  it('refuses a pin replaced by another object of the same type, and leaves it alone', async () => {
    const { server, target, dir } = await setUp();
    const attachment = (await backend.attach({ artifact: await compile('std:round-robin', target, { SOCKETS }), target })) as SocketGroupAttachment;
    cleanup.push(() => attachment.close());
    const record = attachment.persist(dir);
    await attachment.release();

    using foreign = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }, { name: 'next', mmapable: true });
    unpin(join(dir.path, 'maps/next'));
    foreign.kernelMap.pin(join(dir.path, 'maps/next'));
    const before = await settledFdCount();
    const refusal = await backend.restore(request(record, dir, target, server.pid)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RestoreError);
    expect(refusal).toMatchObject({ code: 'RESTORE_UNTRUSTED', message: expect.stringContaining(`has id ${foreign.kernelMap.info().id}`) });
    expect(openFdCount()).toBe(before);
    expect(existsSync(join(dir.path, 'maps/next'))).toBe(true);

    // A program swapped in at `prog` is refused the same way (its id differs, whatever its code).
    using impostor = loadProgramSpec((await compile('first-socket.ts', target)).program);
    unpin(join(dir.path, 'prog'));
    impostor.program.pin(join(dir.path, 'prog'));
    const beforeProgram = await settledFdCount();
    await expect(backend.restore(request(record, dir, target, server.pid))).rejects.toMatchObject({
      code: 'RESTORE_UNTRUSTED',
      message: expect.stringContaining(`the program pinned at 'prog' has id ${impostor.program.info().id}`),
    });
    expect(await settledFdCount()).toBe(beforeProgram);
  });

  it('says RESTORE_TARGET_GONE when the owner exited or its pid names another process', async () => {
    const { server, target, dir } = await setUp();
    const attachment = (await backend.attach({ artifact: await compile('std:round-robin', target, { SOCKETS }), target })) as SocketGroupAttachment;
    cleanup.push(() => attachment.close());
    const record = JSON.parse(JSON.stringify(attachment.persist(dir))) as PersistedAttachment;
    await attachment.release();

    const reused = { ...request(record, dir, target, server.pid), process: { pid: server.pid, startTime: '1' } };
    await expect(backend.restore(reused)).rejects.toMatchObject({ code: 'RESTORE_TARGET_GONE' });
    const live = request(record, dir, target, server.pid);
    server.child.kill();
    await server.child.exited;
    await expect(backend.restore(live)).rejects.toMatchObject({ code: 'RESTORE_TARGET_GONE' });
  });

  it('leaks no fd over restore and release cycles, nor over a final restore and close', async () => {
    const { server, target, dir } = await setUp();
    const attachment = (await backend.attach({ artifact: await compile('std:round-robin', target, { SOCKETS }), target })) as SocketGroupAttachment;
    cleanup.push(() => attachment.close());
    const record = attachment.persist(dir);
    attachment.onTargetExit(() => undefined);
    await attachment.release();
    const before = await settledFdCount();
    for (let cycle = 0; cycle < 5; cycle++) {
      const restored = (await backend.restore(request(record, dir, target, server.pid))) as SocketGroupAttachment;
      // The exit watch is part of what a restore sets up in the runtime; its pidfd must go too.
      restored.onTargetExit(() => undefined);
      await restored.release();
      expect(await settledFdCount()).toBe(before);
    }
    const last = await backend.restore(request(record, dir, target, server.pid));
    last.onTargetExit?.(() => undefined);
    await last.close();
    expect(await settledFdCount()).toBe(before);
    expect(existsSync(join(dir.path, 'prog'))).toBe(false);
  });
});
