import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/errors/errno.js';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { AttachType, BPF_FS_MAGIC, FileFlag, LinkType, MapType, ProgType, UpdateFlag } from '../../src/syscalls/bpf-constants.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';
import { getLinkInfo, getMapInfo, getProgInfo } from '../../src/syscalls/obj-info.js';
import { Mmap } from '../../src/syscalls/syscalls.js';

function thrown(action: () => unknown): SyscallError {
  try {
    action();
  } catch (error) {
    if (error instanceof SyscallError) return error;
    throw error;
  }
  throw new Error('expected a SyscallError');
}

const INSNS = new Uint8Array(16);
/** statfs' f_type of an ext4 filesystem: any filesystem that is not bpffs. */
const EXT4_SUPER_MAGIC = 0xef53;

/**
 * These run the shared bpf() command layer (SyscallsBase) against the fake kernel, so the
 * encoding and errno handling every native call uses is covered without privileges.
 */
describe('syscall layer over the fake kernel', () => {
  it('creates maps and answers element commands with the kernel errnos', () => {
    const sys = new FakeSyscalls();
    using map = sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1, name: 'h' });
    const key = sys.allocBuffer(4);
    const value = sys.allocBuffer(8);
    key.view.setUint32(0, 7, true);
    expect(sys.mapLookupElem(map, key, value)).toBe(false);
    value.view.setBigUint64(0, 42n, true);
    sys.mapUpdateElem(map, key, value, UpdateFlag.NOEXIST);
    value.view.setBigUint64(0, 0n, true);
    expect(sys.mapLookupElem(map, key, value)).toBe(true);
    expect(value.view.getBigUint64(0, true)).toBe(42n);
    expect(thrown(() => sys.mapUpdateElem(map, key, value, UpdateFlag.NOEXIST)).code).toBe('EEXIST');
    key.view.setUint32(0, 8, true);
    expect(thrown(() => sys.mapUpdateElem(map, key, value, UpdateFlag.ANY)).code).toBe('E2BIG');
    const next = sys.allocBuffer(4);
    expect(sys.mapGetNextKey(map, null, next)).toBe(true);
    expect(next.view.getUint32(0, true)).toBe(7);
    expect(sys.mapGetNextKey(map, next, next)).toBe(false);
    key.view.setUint32(0, 7, true);
    expect(sys.mapDeleteElem(map, key)).toBe(true);
    expect(sys.mapDeleteElem(map, key)).toBe(false);
  });

  it('turns a refused MAP_CREATE into a typed error naming the map', () => {
    const sys = new FakeSyscalls();
    const error = thrown(() => sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 0, maxEntries: 1, name: 'bad' }));
    expect(error.code).toBe('EINVAL');
    expect(error.operation).toBe('BPF_MAP_CREATE');
    expect(error.message).toContain("map 'bad'");
    expect(sys.openFds()).toEqual([]);
  });

  it('reads batches with the count written back, also on the final ENOENT', () => {
    const sys = new FakeSyscalls();
    using map = sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
    const keys = sys.allocBuffer(4 * 3);
    const values = sys.allocBuffer(8 * 3);
    for (let i = 0; i < 3; i++) {
      keys.view.setUint32(i * 4, 10 + i, true);
      values.view.setBigUint64(i * 8, BigInt(100 + i), true);
    }
    expect(sys.mapUpdateBatch(map, { keys, values, count: 3 })).toBe(3);
    const outKeys = sys.allocBuffer(4 * 2);
    const outValues = sys.allocBuffer(8 * 2);
    const cursor = sys.allocBuffer(8);
    const first = sys.mapLookupBatch(map, { inBatch: null, outBatch: cursor, keys: outKeys, values: outValues, count: 2 });
    expect(first).toEqual({ count: 2, done: false });
    const second = sys.mapLookupBatch(map, { inBatch: cursor, outBatch: cursor, keys: outKeys, values: outValues, count: 2 });
    expect(second).toEqual({ count: 1, done: true });
    expect(outKeys.view.getUint32(0, true)).toBe(12);
    expect(outValues.view.getBigUint64(0, true)).toBe(102n);
  });

  it('loads programs, writing the verifier log and its true size', () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ errno: ERRNO.EACCES, log: '0: (95) exit\nR0 !read_ok' });
    const log = new Uint8Array(256);
    const output = { logTrueSize: 0 };
    const error = thrown(() => sys.progLoad({ progType: ProgType.XDP, insns: INSNS, license: 'GPL', logLevel: 1, logBuffer: log, name: 'p' }, output));
    expect(error.code).toBe('EACCES');
    expect(error.message).toContain('verifier rejected');
    expect(new TextDecoder().decode(log.subarray(0, log.indexOf(0)))).toBe('0: (95) exit\nR0 !read_ok');
    expect(output.logTrueSize).toBe('0: (95) exit\nR0 !read_ok'.length + 1);
    expect(sys.openFds()).toEqual([]);
  });

  it('retries PROG_LOAD when the verifier was interrupted (EAGAIN)', () => {
    const sys = new FakeSyscalls();
    sys.failNext('BPF_PROG_LOAD', ERRNO.EAGAIN);
    sys.failNext('BPF_PROG_LOAD', ERRNO.EAGAIN);
    using prog = sys.progLoad({ progType: ProgType.XDP, insns: INSNS, license: 'GPL' });
    expect(sys.count('BPF_PROG_LOAD')).toBe(3);
    expect(prog.closed).toBe(false);
  });

  it('reports ENOSPC when the log buffer is too small', () => {
    const sys = new FakeSyscalls();
    sys.onProgLoad = () => ({ log: 'a long verifier log line' });
    const error = thrown(() => sys.progLoad({ progType: ProgType.XDP, insns: INSNS, license: 'GPL', logLevel: 2, logBuffer: new Uint8Array(8) }));
    expect(error.code).toBe('ENOSPC');
  });

  it('runs PROG_TEST_RUN and returns retval, duration and output sizes', () => {
    const sys = new FakeSyscalls();
    sys.onTestRun = (_prog, data) => ({ retval: data[0] ?? 0, duration: 18, dataOut: data.subarray(0, 4) });
    using prog = sys.progLoad({ progType: ProgType.XDP, insns: INSNS, license: 'GPL' });
    const dataOut = new Uint8Array(32);
    const result = sys.progTestRun({ prog, dataIn: new Uint8Array([2, 1, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]), dataOut, repeat: 10 });
    expect(result).toEqual({ retval: 2, duration: 18, dataSizeOut: 4, ctxSizeOut: 0 });
    expect([...dataOut.subarray(0, 4)]).toEqual([2, 1, 1, 1]);
    expect(thrown(() => sys.progTestRun({ prog, dataIn: new Uint8Array(14), dataOut: new Uint8Array(2) })).code).toBe('ENOSPC');
  });

  it('creates, updates (with replace) and detaches links, and describes them', () => {
    const sys = new FakeSyscalls();
    using first = sys.progLoad({ progType: ProgType.XDP, insns: INSNS, license: 'GPL' });
    using second = sys.progLoad({ progType: ProgType.XDP, insns: INSNS, license: 'GPL' });
    using link = sys.linkCreate({ prog: first, targetIfindex: 4, attachType: AttachType.XDP });
    const before = getLinkInfo(sys, link);
    expect(before).toMatchObject({ type: LinkType.XDP, progId: getProgInfo(sys, first).id, ifindex: 4 });
    expect(thrown(() => sys.linkUpdate(link, second, { oldProg: second })).code).toBe('EPERM');
    sys.linkUpdate(link, second, { oldProg: first });
    expect(getLinkInfo(sys, link).progId).toBe(getProgInfo(sys, second).id);
    sys.linkDetach(link);
    expect(thrown(() => sys.linkUpdate(link, first)).code).toBe('ENOLINK');
  });

  it('pins and opens objects, with the access the open asked for', () => {
    const sys = new FakeSyscalls();
    using map = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: 'pinned' });
    sys.objPin(map, '/sys/fs/bpf/x/m');
    expect(thrown(() => sys.objPin(map, '/sys/fs/bpf/x/m')).code).toBe('EEXIST');
    using readOnly = sys.objGet('/sys/fs/bpf/x/m', FileFlag.RDONLY);
    expect(getMapInfo(sys, readOnly)).toMatchObject({ id: getMapInfo(sys, map).id, name: 'pinned', maxEntries: 1 });
    const key = sys.allocBuffer(4);
    const value = sys.allocBuffer(8);
    expect(sys.mapLookupElem(readOnly, key, value)).toBe(true);
    expect(thrown(() => sys.mapUpdateElem(readOnly, key, value, 0)).code).toBe('EPERM');
    expect(thrown(() => sys.objGet('/sys/fs/bpf/x/none', 0)).code).toBe('ENOENT');
  });

  it('maps only mmapable arrays, onto the map storage itself', () => {
    const sys = new FakeSyscalls();
    using plain = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 });
    using hash = sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
    using mmapable = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 1 << 10 });
    const shared = { length: 32, prot: Mmap.PROT_READ | Mmap.PROT_WRITE, flags: Mmap.MAP_SHARED };
    expect(thrown(() => sys.mmap({ ...shared, fd: plain })).code).toBe('EINVAL');
    expect(thrown(() => sys.mmap({ ...shared, fd: hash })).code).toBe('ENOTSUPP');
    const address = sys.mmap({ ...shared, fd: mmapable });
    const values = new BigUint64Array(sys.memoryView(address, 32), 0, 4);
    const key = sys.allocBuffer(4);
    const value = sys.allocBuffer(8);
    key.view.setUint32(0, 2, true);
    value.view.setBigUint64(0, 77n, true);
    sys.mapUpdateElem(mmapable, key, value, 0);
    expect(values[2]).toBe(77n);
    sys.munmap(address, 32);
    expect(sys.mappings().size).toBe(0);
  });

  it('opens pidfds and duplicates fds the target exposes', () => {
    const sys = new FakeSyscalls();
    sys.exposeRemoteFd(1234, 7);
    using pidfd = sys.pidfdOpen(1234);
    using copy = sys.pidfdGetfd(pidfd, 7);
    expect(sys.objectOf(copy)?.kind).toBe('socket');
    expect(thrown(() => sys.pidfdGetfd(pidfd, 8)).code).toBe('EBADF');
    expect(thrown(() => sys.pidfdOpen(0)).code).toBe('EINVAL');
  });

  it('stores and reads socket options on fake sockets', () => {
    const sys = new FakeSyscalls();
    using socket = sys.createSocket();
    sys.setsockopt(socket, 1, 15, new Uint8Array([1, 0, 0, 0]));
    const out = new Uint8Array(4);
    expect(sys.getsockopt(socket, 1, 15, out)).toBe(4);
    expect([...out]).toEqual([1, 0, 0, 0]);
    expect(thrown(() => sys.getsockopt(socket, 1, 99, out)).code).toBe('ENOPROTOOPT');
  });

  it('injects a failure into exactly the next call of an operation', () => {
    const sys = new FakeSyscalls();
    sys.failNext('BPF_MAP_CREATE', ERRNO.EPERM);
    const error = thrown(() => sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 }));
    expect(error.message).toContain('missing CAP_BPF/root');
    using map = sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(map.closed).toBe(false);
  });

  it('overrides one call for as long as a test holds the override, bypassing the model and its log', () => {
    const sys = new FakeSyscalls();
    {
      using _noBpffs = sys.override('statfsType', () => EXT4_SUPER_MAGIC);
      sys.mount('bpf', '/sys/fs/bpf', 'bpf', 0);
      expect(sys.statfsType('/sys/fs/bpf')).toBe(EXT4_SUPER_MAGIC);
      expect(() => sys.override('statfsType', () => 0)).toThrow(/already overridden/);
    }
    expect(sys.statfsType('/sys/fs/bpf')).toBe(BPF_FS_MAGIC);
    expect(sys.count('statfs')).toBe(1);
  });

  it('lets an override of a bpf command stand in for the encoded call, errors included', () => {
    const sys = new FakeSyscalls();
    using _denied = sys.override('mapCreate', (attr) => {
      throw new SyscallError('BPF_MAP_CREATE', ERRNO.EPERM, { subject: `map '${attr.name ?? ''}'` });
    });
    const error = thrown(() => sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1, name: 'h' }));
    expect(error.code).toBe('EPERM');
    expect(sys.count('BPF_MAP_CREATE')).toBe(0);
    expect(sys.openFds()).toEqual([]);
  });
});
