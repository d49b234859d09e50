import { STANDARD_HOOKS } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { GhostBackend, parseCpuList } from '../src/ghost-backend.js';

describe('GhostBackend targets', () => {
  const backend = new GhostBackend({ allowedCpus: [1, 2, 3] });
  const request = (target: object) => ({ hook: STANDARD_HOOKS.thread, target, input: 'thread' as const });

  it('claims the process and each enclave CPU, exclusively, defaulting to every CPU the daemon allows', () => {
    expect(backend.claims(request({ pid: 42, extra: { cpus: '2-3' } })).map((c) => [c.kind, c.key, c.exclusive])).toEqual([
      ['process', '42', false],
      ['cpu', '2', true],
      ['cpu', '3', true],
    ]);
    expect(backend.claims(request({ pid: 42 })).filter((c) => c.kind === 'cpu').map((c) => c.key)).toEqual(['1', '2', '3']);
    expect(backend.claims(request({ pid: 42, extra: { cpus: [3] } }))[1]?.taken).toBe('CPU 3 is in an enclave of {holder}, so {caller} may not use it.');
  });

  it('refuses a CPU outside the allowed set, a bad CPU list and a missing pid, in one sentence', () => {
    expect(() => backend.claims(request({ pid: 42, extra: { cpus: [0, 1] } }))).toThrow('CPU 0 is outside the CPUs the daemon lets enclaves use (1,2,3).');
    expect(() => backend.claims(request({ pid: 42, extra: { cpus: 'all' } }))).toThrow("extra.cpus is a CPU list such as 1-3,5, not 'all'.");
    expect(() => backend.claims(request({}))).toThrow('the thread hook needs the process whose threads it schedules: give --pid.');
    expect(parseCpuList('5,1-2', 'x')).toEqual([1, 2, 5]);
  });

  it('takes the listed threads and the wake rule of an agent in its own target process, and refuses malformed ones in one sentence', () => {
    expect(backend.claims(request({ pid: 42, extra: { threads: [43, 44], wakeOn: 'wakeup' } })).map((c) => c.key)).toEqual(['42', '1', '2', '3']);
    expect(() => backend.claims(request({ pid: 42, extra: { threads: [] } }))).toThrow('extra.threads is a list of thread ids of the process, not [].');
    expect(() => backend.claims(request({ pid: 42, extra: { threads: [43, -1] } }))).toThrow('extra.threads is a list of thread ids of the process, not [43,-1].');
    expect(() => backend.claims(request({ pid: 42, extra: { wakeOn: 'always' } }))).toThrow(`extra.wakeOn is 'change' or 'wakeup', not "always".`);
  });

  it("lets a tenant schedule only its own processes' threads", async () => {
    // pid 1 (init) belongs to root.
    await expect(backend.authorize({ ...request({ pid: 1 }), caller: { uid: 4242 } })).rejects.toThrow('process 1 belongs to uid 0, so uid 4242 may not schedule its threads.');
    await expect(backend.authorize({ ...request({ pid: 2 ** 22 + 7 }), caller: { uid: 4242 } })).rejects.toThrow(`no process has pid ${2 ** 22 + 7}.`);
  });
});
