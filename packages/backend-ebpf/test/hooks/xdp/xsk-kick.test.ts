import { describe, expect, it } from 'vitest';
import { SyscallError } from '../../../src/errors/syscall-error.js';
import type { Fd } from '../../../src/fd.js';
import type { Syscalls } from '../../../src/syscalls/syscalls.js';
import { kickTransmit } from '../../../src/xsk/xsk-kick.js';
import { XskError } from '../../../src/xsk/xsk-error.js';
import type { XskProducerRing } from '../../../src/xsk/xsk-ring.js';

const EAGAIN = 11;
const EBUSY = 16;
const EPERM = 1;

/**
 * A TX ring holding `frames` and a kernel that sends up to 32 of them per sendto (copy mode),
 * answering EAGAIN while more wait, or `fail(call)`'s errno when it gives one.
 */
function copyModeKernel(frames: number, fail: (call: number) => number | undefined = () => undefined) {
  let waiting = frames;
  let calls = 0;
  const tx = { outstanding: () => waiting, needsWakeup: () => true } as unknown as XskProducerRing;
  const sys = {
    sendto: () => {
      const errno = fail(++calls);
      if (errno !== undefined) throw new SyscallError('sendto', errno);
      waiting -= Math.min(32, waiting);
      if (waiting > 0) throw new SyscallError('sendto', EAGAIN);
    },
  } as unknown as Syscalls;
  return { tx, sys, calls: () => calls };
}

const fd = {} as Fd;

describe('kickTransmit', () => {
  it('calls sendto until the ring is drained, 32 frames at a time, within its rounds', () => {
    const kernel = copyModeKernel(100);
    expect(kickTransmit(kernel.sys, fd, kernel.tx, { rounds: 64, label: 'socket' })).toBe(0);
    expect(kernel.calls()).toBe(4);
    const bounded = copyModeKernel(100);
    expect(kickTransmit(bounded.sys, fd, bounded.tx, { rounds: 2, label: 'socket' })).toBe(36);
    expect(bounded.calls()).toBe(2);
  });

  it('stops at a full device queue unless something runs between calls to make room', () => {
    const full = copyModeKernel(100, (call) => (call === 2 ? EBUSY : undefined));
    expect(kickTransmit(full.sys, fd, full.tx, { rounds: 64, label: 'socket' })).toBe(68);
    expect(full.calls()).toBe(2);
    let reaped = 0;
    const reaping = copyModeKernel(100, (call) => (call === 2 ? EBUSY : undefined));
    expect(kickTransmit(reaping.sys, fd, reaping.tx, { rounds: 64, afterEach: () => reaped++, label: 'socket' })).toBe(0);
    expect(reaped).toBe(reaping.calls());
  });

  it('turns any other errno into an XskError naming the socket', () => {
    const denied = copyModeKernel(10, () => EPERM);
    expect(() => kickTransmit(denied.sys, fd, denied.tx, { rounds: 4, label: "worker 1's socket" })).toThrow(XskError);
    expect(() => kickTransmit(copyModeKernel(10, () => EPERM).sys, fd, denied.tx, { rounds: 4, label: "worker 1's socket" })).toThrow(/^worker 1's socket cannot transmit: sendto failed with EPERM/);
  });
});
