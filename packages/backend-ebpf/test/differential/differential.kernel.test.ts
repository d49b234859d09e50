import { generateRandomPolicy, SeededRandom, type RandomPolicyOptions } from '@syrup/core/testing';
import type { DataMapKind } from '@syrup/maps';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

import { allowedCpus, pinToCpu } from './support/cpu-affinity.js';
import { randomCase } from './support/differential-case.js';
import { DifferentialRun, type CpuPlacement } from './support/differential-run.js';
import { diffImages, randomImage } from './support/map-image.js';
import { describeFailure, type PolicyFailure } from './support/reproducer.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/*
 * The differential suite of the policy compiler: random valid policies written as TypeScript
 * source by core's generator, compiled by the front end, built into the XDP test harness and
 * run by the kernel (BPF_PROG_TEST_RUN) and by core's evaluator on the same inputs from the
 * same map contents. After every case the decision and every map entry must agree. Each policy
 * is also built for its real hooks (socket-select for udp policies, xdp-skb) and must pass the
 * verifier there.
 *
 * Reproducible: policy i has seed SYRUP_DIFF_SEED + i; the inputs and starting maps come from
 * a stream seeded from it. A failure prints the seed, the generator call, both decisions, the
 * differing entries and a shrunk source (see support/reproducer.ts).
 *
 * Left out of the comparison: lru-hash maps (the kernel's eviction order is approximate) and
 * random()/now() (tested for their ranges below). cpu() stays in: the test thread is pinned
 * to one CPU, the evaluator is told which, and per-CPU maps are compared slot by slot (the
 * pinned CPU's slot must match, the others must keep their starting values). tcp and thread
 * inputs have no XDP harness; udp and packet policies are generated.
 */

function envInt(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : Number(value);
}

const POLICIES = envInt('SYRUP_DIFF_POLICIES', 1000);
const CASES = envInt('SYRUP_DIFF_CASES', 24);
const BASE_SEED = envInt('SYRUP_DIFF_SEED', 0x5_eed0);
const CHUNK = 100;
const MAP_KINDS: readonly DataMapKind[] = ['array', 'hash', 'percpu-array'];
const HELPERS: RandomPolicyOptions['helpers'] = ['cpu'];

interface Coverage {
  policies: number;
  cases: number;
  readonly texts: Set<string>;
  readonly inputs: Record<'udp' | 'packet', number>;
  readonly decisions: Record<'executor' | 'pass' | 'drop', number>;
  casesChangingMaps: number;
  policiesWithMaps: number;
}

function newCoverage(): Coverage {
  return {
    policies: 0,
    cases: 0,
    texts: new Set(),
    inputs: { udp: 0, packet: 0 },
    decisions: { executor: 0, pass: 0, drop: 0 },
    casesChangingMaps: 0,
    policiesWithMaps: 0,
  };
}

describeKernel('the kernel and the evaluator agree on random TypeScript policies', { needs: ['bpf'] }, () => {
  let placement: CpuPlacement = { cpu: 0, cpus: 1 };
  let restoreAffinity: (() => void) | undefined;
  let fdsBefore = 0;
  const coverage = newCoverage();

  beforeAll(() => {
    // The last allowed CPU, so that on a multi-CPU machine per-CPU slots other than 0 are exercised.
    const cpu = allowedCpus().at(-1) ?? 0;
    restoreAffinity = pinToCpu(cpu);
    placement = { cpu, cpus: nativeSyscalls().possibleCpus() };
    // A warm-up load, so lazily opened libraries and buffers are not counted as leaks.
    runPolicy(-1, [], newCoverage());
    fdsBefore = openFdCount();
    process.stdout.write(`differential suite: base seed ${BASE_SEED}, ${POLICIES} policies x ${CASES} cases, pinned to cpu ${cpu} of ${placement.cpus}\n`);
  });

  afterAll(() => restoreAffinity?.());

  function runPolicy(index: number, failures: PolicyFailure[], into: Coverage): void {
    const seed = (BASE_SEED + index) >>> 0;
    // A stream of its own for inputs and maps, so that the policy text depends on the seed only.
    const rng = new SeededRandom(seed ^ 0x6a09_e667);
    const input = rng.chance(0.25) ? 'packet' : 'udp';
    const options: RandomPolicyOptions = { seed, input, mapKinds: MAP_KINDS, helpers: HELPERS };
    const policy = generateRandomPolicy(options);
    const generator = `generateRandomPolicy({ seed: ${seed}, input: '${input}', mapKinds: ${JSON.stringify(MAP_KINDS)}, helpers: ${JSON.stringify(HELPERS)} })`;
    into.policies++;
    into.texts.add(policy.text);
    into.inputs[input]++;
    let run: DifferentialRun;
    try {
      run = DifferentialRun.open(policy, placement, { verifyHooks: true });
    } catch (error) {
      failures.push({ policy, generator, placement, error });
      return;
    }
    try {
      if (Object.keys(run.ir.manifest.maps).length > 0) into.policiesWithMaps++;
      run.seed(randomImage(rng, run.ir.manifest.maps, placement.cpus));
      for (let i = 0; i < CASES; i++) {
        const c = randomCase(rng, input);
        const before = run.image();
        const divergence = run.step(c);
        into.cases++;
        if (divergence !== undefined) {
          failures.push({ policy, generator, placement, caseIndex: i, cases: CASES, case: c, divergence });
          return;
        }
        into.decisions[run.lastDecision.kind]++;
        if (diffImages(before, run.image()).length > 0) into.casesChangingMaps++;
      }
    } catch (error) {
      failures.push({ policy, generator, placement, error });
    } finally {
      run.close();
    }
  }

  for (let from = 0; from < POLICIES; from += CHUNK) {
    const to = Math.min(POLICIES, from + CHUNK);
    it(`policies ${from} to ${to - 1} (seeds ${BASE_SEED + from} to ${BASE_SEED + to - 1})`, () => {
      const failures: PolicyFailure[] = [];
      for (let index = from; index < to; index++) runPolicy(index, failures, coverage);
      if (failures.length > 0) {
        const first = describeFailure(failures[0]!);
        const others = failures.slice(1).map((f) => f.policy.seed);
        expect.fail(`${failures.length} of ${to - from} policies failed${others.length > 0 ? ` (also seeds ${others.join(', ')})` : ''}.\n${first}`);
      }
    }, 120_000);
  }

  it('covered at least 10,000 cases over at least 500 distinct policies, with every kind of decision', () => {
    process.stdout.write(
      `differential suite: ${coverage.cases} cases over ${coverage.texts.size} distinct policies ` +
        `(${coverage.inputs.udp} udp, ${coverage.inputs.packet} packet; ${coverage.policiesWithMaps} with maps); ` +
        `decisions: ${coverage.decisions.executor} executor, ${coverage.decisions.pass} PASS, ${coverage.decisions.drop} DROP; ` +
        `${coverage.casesChangingMaps} cases changed a map\n`,
    );
    if (POLICIES < 500 || CASES * POLICIES < 10_000) return; // a smaller run asked for through the environment
    expect(coverage.texts.size).toBeGreaterThanOrEqual(500);
    expect(coverage.cases).toBeGreaterThanOrEqual(10_000);
    expect(coverage.decisions.executor).toBeGreaterThan(0);
    expect(coverage.decisions.pass).toBeGreaterThan(0);
    expect(coverage.decisions.drop).toBeGreaterThan(0);
    expect(coverage.casesChangingMaps).toBeGreaterThan(0);
  });

  it('left no kernel object behind (the process holds as many fds as before)', () => {
    expect(openFdCount()).toBe(fdsBefore);
  });
});
