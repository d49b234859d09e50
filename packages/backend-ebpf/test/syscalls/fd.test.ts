import { afterEach, describe, expect, it } from 'vitest';
import { FdError } from '../../src/errors/fd-error.js';
import { SyscallError } from '../../src/errors/syscall-error.js';
import { Fd, reportFdLeaks, type FdLeak, type FdSyscalls } from '../../src/fd.js';
import { FakeSyscalls } from '../../src/syscalls/fake-syscalls.js';
import { collectGarbage } from '../support/gc.js';

function newMapFd(sys: FakeSyscalls): Fd {
  return sys.mapCreate({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 1 });
}

describe('Fd', () => {
  afterEach(() => reportFdLeaks(undefined));

  it('closes once, however often close() is called', () => {
    const sys = new FakeSyscalls();
    const fd = newMapFd(sys);
    const raw = fd.raw;
    expect(sys.openFds()).toEqual([raw]);
    fd.close();
    fd.close();
    fd[Symbol.dispose]();
    expect(sys.count('close')).toBe(1);
    expect(sys.openFds()).toEqual([]);
    expect(fd.closed).toBe(true);
    expect(String(fd)).toBe('fd (closed)');
  });

  it('refuses to hand out the number after close, so a reused number is never hit', () => {
    const sys = new FakeSyscalls();
    const fd = newMapFd(sys);
    fd.close();
    expect(() => fd.raw).toThrow(FdError);
    try {
      void fd.raw;
    } catch (error) {
      expect((error as FdError).code).toBe('FD_CLOSED');
    }
  });

  it('closes at the end of a using block', () => {
    const sys = new FakeSyscalls();
    {
      using fd = newMapFd(sys);
      expect(sys.openFds()).toEqual([fd.raw]);
    }
    expect(sys.openFds()).toEqual([]);
  });

  it('dups into an independent owner of the same object, never numbered 0', () => {
    const sys = new FakeSyscalls();
    const fd = newMapFd(sys);
    const copy = fd.dup();
    expect(copy.raw).not.toBe(fd.raw);
    expect(copy.raw).toBeGreaterThan(0);
    expect(sys.objectOf(copy)).toBe(sys.objectOf(fd));
    fd.close();
    expect(sys.openFds()).toEqual([copy.raw]);
    copy.close();
  });

  it('hands the number over on disown and stops owning it', () => {
    const sys = new FakeSyscalls();
    const fd = newMapFd(sys);
    const raw = fd.disown();
    expect(fd.closed).toBe(true);
    fd.close();
    expect(sys.openFds()).toEqual([raw]);
    const adopted = Fd.adopt(raw, sys);
    expect(adopted.raw).toBe(raw);
    adopted.close();
    expect(sys.openFds()).toEqual([]);
  });

  it('moves an adopted fd 0 to a higher number, because 0 means "no fd" in bpf attrs', () => {
    const calls: string[] = [];
    const stub: FdSyscalls = {
      closeFd: (raw) => calls.push(`close ${raw}`),
      dupFd: (raw, minimum) => {
        calls.push(`dup ${raw} min ${minimum}`);
        return 5;
      },
    };
    const fd = Fd.adopt(0, stub);
    expect(fd.raw).toBe(5);
    expect(calls).toEqual(['dup 0 min 1', 'close 0']);
  });

  it('refuses to adopt something that is not an fd number', () => {
    const sys = new FakeSyscalls();
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => Fd.adopt(bad, sys)).toThrow(expect.objectContaining({ code: 'FD_INVALID' }));
    }
  });

  it('surfaces a failing close as a SyscallError but still forgets the number', () => {
    const sys = new FakeSyscalls();
    const fd = newMapFd(sys);
    sys.failNext('close', 9);
    expect(() => fd.close()).toThrow(SyscallError);
    expect(fd.closed).toBe(true);
  });

  it('reports an Fd that became unreachable while open, and never closes it', async () => {
    const sys = new FakeSyscalls();
    const leaks: FdLeak[] = [];
    reportFdLeaks((leak) => leaks.push(leak));
    let raw = -1;
    (() => {
      raw = newMapFd(sys).raw;
    })();
    const closedProperly = newMapFd(sys);
    closedProperly.close();
    await collectGarbage();
    expect(leaks.map((l) => l.fd)).toEqual([raw]);
    expect(leaks[0]?.createdAt).toContain('fd.test.ts');
    expect(sys.openFds()).toEqual([raw]);
  });
});
