import { compilePolicy, PolicyEvaluator } from '@syrup/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { udpFrame } from '../codegen/kernel-support.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

import { allowedCpus, pinToCpu } from './support/cpu-affinity.js';
import { DifferentialRun } from './support/differential-run.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/*
 * random(), now() and cpu() are left out of the differential suite's equality checks (the
 * kernel's values cannot be predicted), so their ranges are checked here, in the kernel and in
 * the evaluator: random() is a u32 that varies, now() is CLOCK_MONOTONIC nanoseconds (between
 * two readings of that clock around the run, never going back), cpu() is the CPU the program
 * runs on, below the number of possible CPUs, and a per-CPU map's operation lands in that
 * CPU's slot.
 */

const source = {
  fileName: 'helpers.ts',
  text: `import { definePolicy, random, now, cpu } from '@syrup/core';

export default definePolicy({
  name: 'helpers',
  input: 'udp',
  maps: {
    out: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 },
    slots: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 1 },
  },
  schedule(pkt, { out, slots }) {
    out.set(0, random());
    out.set(1, now());
    out.set(2, now());
    out.set(3, cpu());
    slots.fetchAdd(0, 1);
    return random();
  },
});
`,
};

const U32_LIMIT = 1n << 32n;

describeKernel('the helpers a policy calls, in the kernel and in the evaluator', { needs: ['bpf'] }, () => {
  const frame = udpFrame({ payload: new Uint8Array(8) });
  const cpus = allowedCpus();
  const possible = nativeSyscalls().possibleCpus();
  let run: DifferentialRun;
  let fdsBefore = 0;
  let restore: (() => void) | undefined;

  beforeAll(() => {
    fdsBefore = openFdCount();
    run = DifferentialRun.open(source, { cpu: 0, cpus: possible }, { realHelpers: true });
  });
  afterAll(() => {
    run.close();
    restore?.();
  });

  const out = (key: number): bigint => run.loaded.dataMaps.get('out')!.lookup(key)![0]!;

  it('random() is a u32, and not the same every time', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) {
      const decision = run.runKernel(frame);
      expect(decision.kind).toBe('executor');
      const key = decision.kind === 'executor' ? decision.key : -1n;
      expect(key).toBeLessThan(U32_LIMIT);
      expect(out(0)).toBeLessThan(U32_LIMIT);
      seen.add(key).add(out(0));
    }
    expect(seen.size).toBeGreaterThan(300);
    const evaluator = new PolicyEvaluator(compilePolicy(source).ir);
    const values = Array.from({ length: 200 }, () => {
      const d = evaluator.evaluate({ payload: new Uint8Array(8) });
      return d.kind === 'executor' ? d.key : -1n;
    });
    expect(values.every((v) => v >= 0n && v < U32_LIMIT)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(150);
  });

  it('now() is CLOCK_MONOTONIC nanoseconds: within a run, between readings of the clock around it, never backwards', () => {
    let previous = 0n;
    for (let i = 0; i < 200; i++) {
      // process.hrtime reads CLOCK_MONOTONIC, the clock bpf_ktime_get_ns reads.
      const before = process.hrtime.bigint();
      run.runKernel(frame);
      const after = process.hrtime.bigint();
      const [first, second] = [out(1), out(2)];
      expect(first).toBeGreaterThanOrEqual(before);
      expect(second).toBeGreaterThanOrEqual(first);
      expect(second).toBeLessThanOrEqual(after);
      expect(first).toBeGreaterThanOrEqual(previous);
      previous = second;
    }
    const memory = new PolicyEvaluator(compilePolicy(source).ir);
    const before = process.hrtime.bigint();
    memory.evaluate({ payload: new Uint8Array(8) });
    const after = process.hrtime.bigint();
    const [first, second] = [memory.maps.get('out')!.lookup(1)![0]!, memory.maps.get('out')!.lookup(2)![0]!];
    expect(first >= before && second >= first && second <= after).toBe(true);
  });

  it("cpu() is the CPU the program runs on, below the possible CPUs, and per-CPU maps use that CPU's slot", () => {
    expect(cpus.length).toBeGreaterThan(0);
    for (const cpu of cpus) {
      restore?.();
      restore = pinToCpu(cpu);
      const slotsBefore = run.loaded.dataMaps.get('slots')!.lookup(0)!;
      run.runKernel(frame);
      expect(out(3)).toBe(BigInt(cpu));
      expect(out(3)).toBeLessThan(BigInt(possible));
      const slotsAfter = run.loaded.dataMaps.get('slots')!.lookup(0)!;
      slotsAfter.forEach((value, slot) => expect(value - slotsBefore[slot]!).toBe(slot === cpu ? 1n : 0n));
    }
    const memory = new PolicyEvaluator(compilePolicy(source).ir, { cpu: possible - 1, cpus: possible });
    memory.evaluate({ payload: new Uint8Array(8) });
    expect(memory.maps.get('out')!.lookup(3)).toEqual([BigInt(possible - 1)]);
  });

  it('leaves no kernel object behind', () => {
    run.close();
    expect(openFdCount()).toBe(fdsBefore);
  });
});
