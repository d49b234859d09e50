import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { AttachType, LinkType, MapFlag, MapType, ProgType, UpdateFlag } from '../../src/syscalls/bpf-constants.js';
import { countCpuList } from '../../src/syscalls/cpu-list.js';
import { nativeSyscalls, type NativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { getLinkInfo, getMapInfo, getProgInfo } from '../../src/syscalls/obj-info.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { fdWithTarget } from '@syrup/test-support/open-fds';

/** `r0 = imm; exit` as raw instructions: mov64 (0xb7) then exit (0x95). */
function returning(imm: number): Uint8Array {
  const insns = new Uint8Array(16);
  const view = new DataView(insns.buffer);
  view.setUint8(0, 0xb7);
  view.setInt32(4, imm, true);
  view.setUint8(8, 0x95);
  return insns;
}

/** A BTF blob with one type, `int` (signed, 32 bits). */
function minimalBtf(): Uint8Array {
  const strings = new TextEncoder().encode('\0int\0');
  const bytes = new Uint8Array(24 + 16 + strings.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xeb9f, true);
  view.setUint8(2, 1);
  view.setUint32(4, 24, true);
  view.setUint32(8, 0, true);
  view.setUint32(12, 16, true);
  view.setUint32(16, 16, true);
  view.setUint32(20, strings.length, true);
  view.setUint32(24, 1, true);
  view.setUint32(28, 1 << 24, true);
  view.setUint32(32, 4, true);
  view.setUint32(36, (1 << 24) | 32, true);
  bytes.set(strings, 40);
  return bytes;
}

/** The fd number of this process's UDP socket bound to `port`, found through procfs as the runtime will. */
function fdOfUdpPort(port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .find((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${portHex}`));
  const inode = line?.trim().split(/\s+/)[9];
  const fd = fdWithTarget(`socket:[${inode}]`);
  if (fd !== undefined) return fd;
  throw new Error(`no fd of this process is bound to UDP port ${port}`);
}

function thrown(action: () => unknown): SyscallError {
  try {
    action();
  } catch (error) {
    if (error instanceof SyscallError) return error;
    throw error;
  }
  throw new Error('expected a SyscallError');
}

describeKernel('native syscalls against the kernel', { needs: ['bpf', 'btf'] }, () => {
  let sys: NativeSyscalls;
  beforeAll(() => {
    sys = nativeSyscalls();
  });

  it('creates a map whose kernel info matches the attr, including flags and name', () => {
    using map = sys.mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: MapFlag.MMAPABLE, name: 'syrup_t.1' });
    const info = getMapInfo(sys, map);
    expect(info).toMatchObject({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 16, flags: MapFlag.MMAPABLE, name: 'syrup_t.1' });
    expect(info.id).toBeGreaterThan(0);
    expect(sys.objectKind(map)).toBe('map');
  });

  it('turns a refused MAP_CREATE into SyscallError EINVAL', () => {
    const error = thrown(() => sys.mapCreate({ mapType: MapType.HASH, keySize: 0, valueSize: 8, maxEntries: 1, name: 'bad' }));
    expect(error.code).toBe('EINVAL');
    expect(error.errno).toBe(22);
    expect(error.operation).toBe('BPF_MAP_CREATE');
  });

  it('reads the possible CPUs from sysfs', () => {
    expect(sys.possibleCpus()).toBe(countCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8')));
  });

  it('does element commands and batch updates/lookups on a hash', () => {
    using map = sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 });
    const keys = sys.allocBuffer(4 * 40);
    const values = sys.allocBuffer(8 * 40);
    for (let i = 0; i < 40; i++) {
      keys.view.setUint32(i * 4, i + 1, true);
      values.view.setBigUint64(i * 8, BigInt(i) << 40n, true);
    }
    expect(sys.mapUpdateBatch(map, { keys, values, count: 40 })).toBe(40);
    const key = sys.allocBuffer(4);
    const value = sys.allocBuffer(8);
    key.view.setUint32(0, 40, true);
    expect(sys.mapLookupElem(map, key, value)).toBe(true);
    expect(value.view.getBigUint64(0, true)).toBe(39n << 40n);
    expect(thrown(() => sys.mapUpdateElem(map, key, value, UpdateFlag.NOEXIST)).code).toBe('EEXIST');
    const seen = new Map<number, bigint>();
    const outKeys = sys.allocBuffer(4 * 64);
    const outValues = sys.allocBuffer(8 * 64);
    const cursor = sys.allocBuffer(8);
    let inBatch = null;
    for (;;) {
      const { count, done } = sys.mapLookupBatch(map, { inBatch, outBatch: cursor, keys: outKeys, values: outValues, count: 64 });
      for (let i = 0; i < count; i++) seen.set(outKeys.view.getUint32(i * 4, true), outValues.view.getBigUint64(i * 8, true));
      if (done) break;
      inBatch = cursor;
    }
    expect(seen.size).toBe(40);
    expect(seen.get(1)).toBe(0n);
    expect(seen.get(2)).toBe(1n << 40n);
  });

  it('loads a program with a verifier log, reports the log size and describes the program', () => {
    const log = new Uint8Array(64 * 1024);
    const output = { logTrueSize: 0 };
    using prog = sys.progLoad({ progType: ProgType.XDP, insns: returning(2), license: 'GPL', logLevel: 1, logBuffer: log, name: 'syrup_pass' }, output);
    expect(new TextDecoder().decode(log.subarray(0, log.indexOf(0)))).toContain('processed 2 insns');
    expect(output.logTrueSize).toBeGreaterThan(0);
    const info = getProgInfo(sys, prog);
    expect(info).toMatchObject({ type: ProgType.XDP, name: 'syrup_pass', xlatedProgLen: 16 });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(sys.objectKind(prog)).toBe('prog');
  });

  it('returns the verifier log of a rejected program with the errno', () => {
    const log = new Uint8Array(4096);
    const exitOnly = returning(0).subarray(8);
    const error = thrown(() => sys.progLoad({ progType: ProgType.XDP, insns: exitOnly, license: 'GPL', logLevel: 1, logBuffer: log }));
    expect(error.code).toBe('EACCES');
    expect(new TextDecoder().decode(log.subarray(0, log.indexOf(0)))).toContain('R0 !read_ok');
  });

  it('runs a program with PROG_TEST_RUN', () => {
    using prog = sys.progLoad({ progType: ProgType.XDP, insns: returning(2), license: 'GPL' });
    const dataIn = new Uint8Array(64).fill(0xab);
    const dataOut = new Uint8Array(256);
    // A signal pending in this process ends a repeated run with EINTR (the kernel checks between
    // repetitions). Since the gate probes xdp-driver for the suite below at collection (running
    // `ip` children), this run is interrupted in most runs of test/syscalls; which signal is still
    // pending by then is not established. An interrupted run is the kernel as documented: run again.
    const run = (tries: number): ReturnType<typeof sys.progTestRun> => {
      try {
        return sys.progTestRun({ prog, dataIn, dataOut, repeat: 100 });
      } catch (error) {
        if (tries > 1 && error instanceof SyscallError && error.code === 'EINTR') return run(tries - 1);
        throw error;
      }
    };
    const result = run(3);
    expect(result.retval).toBe(2);
    expect(result.dataSizeOut).toBe(64);
    expect(dataOut.subarray(0, 64)).toEqual(dataIn);
    expect(thrown(() => sys.progTestRun({ prog, dataIn: new Uint8Array(13) })).code).toBe('EINVAL');
  });

  it('loads BTF and refuses a corrupt blob with a typed error', () => {
    using btf = sys.btfLoad({ btf: minimalBtf() });
    expect(sys.objectKind(btf)).toBe('btf');
    const corrupt = minimalBtf();
    corrupt[0] = 0;
    expect(thrown(() => sys.btfLoad({ btf: corrupt })).code).toBe('EINVAL');
  });

  it('pidfd_getfd duplicates an fd of a process into an owned Fd', () => {
    using map = sys.mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
    using pidfd = sys.pidfdOpen(process.pid);
    using copy = sys.pidfdGetfd(pidfd, map.raw);
    expect(copy.raw).not.toBe(map.raw);
    expect(getMapInfo(sys, copy).id).toBe(getMapInfo(sys, map).id);
  });

  it('sets and reads socket options on a socket duplicated from Node', async () => {
    const socket: Socket = createSocket({ type: 'udp4', reusePort: true });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const handleFd = fdOfUdpPort(socket.address().port);
      using pidfd = sys.pidfdOpen(process.pid);
      using fd = sys.pidfdGetfd(pidfd, handleFd);
      const value = new Uint8Array(4);
      const SOL_SOCKET = 1;
      expect(sys.getsockopt(fd, SOL_SOCKET, 15 /* SO_REUSEPORT */, value)).toBe(4);
      expect(new DataView(value.buffer).getUint32(0, true)).toBe(1);
      sys.setsockopt(fd, SOL_SOCKET, 36 /* SO_MARK */, new Uint8Array([7, 0, 0, 0]));
      sys.getsockopt(fd, SOL_SOCKET, 36, value);
      expect([...value]).toEqual([7, 0, 0, 0]);
      expect(thrown(() => sys.setsockopt(fd, SOL_SOCKET, 9999, value)).code).toBe('ENOPROTOOPT');
    } finally {
      socket.close();
    }
  });

  describeKernel('XDP links on a veth pair', { needs: ['xdp-driver'] }, () => {
    const name = `syv${process.pid.toString(36)}`;
    let ifindex = 0;
    beforeAll(() => {
      execFileSync('ip', ['link', 'add', `${name}a`, 'type', 'veth', 'peer', 'name', `${name}b`]);
      ifindex = Number(readFileSync(`/sys/class/net/${name}a/ifindex`, 'utf8'));
    });
    afterAll(() => {
      try {
        execFileSync('ip', ['link', 'del', `${name}a`]);
      } catch {
        // Already gone.
      }
    });

    it('creates, updates and detaches a link, and describes it', () => {
      using pass = sys.progLoad({ progType: ProgType.XDP, insns: returning(2), license: 'GPL', expectedAttachType: AttachType.XDP });
      using drop = sys.progLoad({ progType: ProgType.XDP, insns: returning(1), license: 'GPL', expectedAttachType: AttachType.XDP });
      using link = sys.linkCreate({ prog: pass, targetIfindex: ifindex, attachType: AttachType.XDP });
      expect(sys.objectKind(link)).toBe('link');
      expect(getLinkInfo(sys, link)).toMatchObject({ type: LinkType.XDP, progId: getProgInfo(sys, pass).id, ifindex });
      expect(thrown(() => sys.linkUpdate(link, drop, { oldProg: drop })).code).toBe('EPERM');
      sys.linkUpdate(link, drop, { oldProg: pass });
      expect(getLinkInfo(sys, link).progId).toBe(getProgInfo(sys, drop).id);
      expect(thrown(() => sys.linkCreate({ prog: pass, targetIfindex: ifindex, attachType: AttachType.XDP })).code).toBe('EBUSY');
      sys.linkDetach(link);
      expect(getLinkInfo(sys, link).ifindex).toBe(0);
      using again = sys.linkCreate({ prog: pass, targetIfindex: ifindex, attachType: AttachType.XDP });
      expect(getLinkInfo(sys, again).ifindex).toBe(ifindex);
    });
  });
});
