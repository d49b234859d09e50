import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MapError } from '@syrup/maps';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PinError } from '../../src/errors/pin-error.js';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { KernelMap } from '../../src/maps/kernel-map.js';
import { BPFFS_MOUNT_POINT, ensureBpffs, isBpffs } from '../../src/pin/bpffs.js';
import { openPinned, setPinMode, setPinOwner, unpin } from '../../src/pin/pin.js';
import { pinPath } from '../../src/pin/pin-path.js';
import { BPF_FS_MAGIC } from '../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { getMapInfo } from '../../src/syscalls/obj-info.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { removePinRoot, uniquePinRoot } from '../support/pin-root.js';
import { runTsScript } from '../support/ts-process.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../support/fixtures/${name}`, import.meta.url));
const HASH = { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 8 } as const;

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describeKernel('pins in bpffs', { needs: ['bpf', 'bpffs'] }, () => {
  let root: string;
  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(value: T): T => {
    open.push(value);
    return value;
  };

  beforeAll(() => {
    root = ensureBpffs(uniquePinRoot());
  });
  afterEach(() => {
    for (const value of open.splice(0)) value.close();
  });
  afterAll(() => removePinRoot(root));

  it('mounts bpffs when needed and creates the root, idempotently', () => {
    expect(nativeSyscalls().statfsType(BPFFS_MOUNT_POINT)).toBe(BPF_FS_MAGIC);
    expect(isBpffs(root)).toBe(true);
    expect(statSync(root).isDirectory()).toBe(true);
    expect(statSync(root).mode & 0o777).toBe(0o755);
    expect(ensureBpffs(root)).toBe(root);
    const nested = ensureBpffs(pinPath(root, 'tenant', 'policy'));
    expect(statSync(nested).isDirectory()).toBe(true);
  });

  it('pins a map and opens the same map by path', () => {
    const store = track(KernelDataMapStore.create(HASH, { name: 'pinned' }));
    store.update(5, [55n]);
    const path = pinPath(root, 'pinned');
    store.pin(path);
    const again = track(KernelDataMapStore.open(path));
    expect(again.kernelMap.info().id).toBe(store.kernelMap.info().id);
    expect(again.lookup(5)).toEqual([55n]);
    again.update(6, [66n]);
    expect(store.lookup(6)).toEqual([66n]);
    expect((caught(() => store.pin(path)) as PinError).code).toBe('PIN_EXISTS');
    expect((caught(() => openPinned(pinPath(root, 'absent'))) as PinError).code).toBe('PIN_NOT_FOUND');
  });

  it('opens read-only and write-only, and the kernel enforces the access', () => {
    const store = track(KernelDataMapStore.create(HASH, { name: 'access' }));
    store.update(1, [1n]);
    const path = pinPath(root, 'access');
    store.pin(path);
    const readOnly = track(KernelDataMapStore.open(path, { access: 'read-only' }));
    expect(readOnly.lookup(1)).toEqual([1n]);
    const denied = caught(() => readOnly.update(1, [2n]));
    expect(denied).toBeInstanceOf(SyscallError);
    expect((denied as SyscallError).code).toBe('EPERM');
    const writeOnly = track(KernelMap.open(path, { access: 'write-only' }));
    writeOnly.update(new Uint8Array([2, 0, 0, 0]), new Uint8Array(8));
    expect((caught(() => writeOnly.lookup(new Uint8Array(4))) as SyscallError).code).toBe('EPERM');
  });

  it('unpins: the path goes away, the map lives on while an fd holds it', () => {
    const store = track(KernelDataMapStore.create(HASH, { name: 'unpinned' }));
    const path = pinPath(root, 'unpinned');
    store.pin(path);
    expect(unpin(path)).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(unpin(path)).toBe(false);
    store.update(1, [1n]);
    expect(store.lookup(1)).toEqual([1n]);
  });

  it('keeps a pinned map alive after the process that made it exits', async () => {
    const path = pinPath(root, 'survivor');
    const result = await runTsScript(fixture('pin-and-exit.ts'), [path]);
    expect(result.code).toBe(0);
    const { id } = JSON.parse(result.stdout) as { id: number };
    const store = track(KernelDataMapStore.open(path));
    expect(store.kernelMap.info().id).toBe(id);
    expect(store.lookup(1)).toEqual([42n]);
    expect(store.label).toBe("map 'survivor'");
  }, 60_000);

  it('lets only the owner uid open a pin with mode 0600', async () => {
    const owner = 61_234;
    const stranger = 61_235;
    const store = track(KernelDataMapStore.create(HASH, { name: 'tenant' }));
    const path = pinPath(root, 'tenant-map');
    store.pin(path);
    setPinOwner(path, owner, owner);
    setPinMode(path, 0o600);
    expect(statSync(path)).toMatchObject({ uid: owner, gid: owner });
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const asOwner = await runTsScript(fixture('open-pin-as.ts'), [path, String(owner), String(owner)]);
    expect(asOwner.stderr).toBe('');
    expect(JSON.parse(asOwner.stdout)).toEqual({ ok: true, uid: owner, id: getMapInfo(nativeSyscalls(), store.kernelMap.fd).id });

    const asStranger = await runTsScript(fixture('open-pin-as.ts'), [path, String(stranger), String(stranger)]);
    expect(JSON.parse(asStranger.stdout)).toEqual({ ok: false, uid: stranger, code: 'PIN_ACCESS_DENIED', cause: 'EACCES' });
  }, 60_000);

  it('maps a missing pin directory to PIN_PATH_INVALID', () => {
    const store = track(KernelDataMapStore.create(HASH, { name: 'nodir' }));
    const error = caught(() => store.pin(pinPath(root, 'no-such-dir', 'm'))) as PinError;
    expect(error.code).toBe('PIN_PATH_INVALID');
    expect((error.cause as SyscallError).code).toBe('ENOENT');
    expect((caught(() => store.lookup(1)) as MapError | undefined)?.code).toBeUndefined();
  });
});
