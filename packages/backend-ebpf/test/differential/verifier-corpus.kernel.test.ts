import { readdirSync, readFileSync } from 'node:fs';
import { compilePolicy, type PolicyIr } from '@syrup/core';
import { SeededRandom } from '@syrup/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram, generateTestHarness } from '../../src/codegen/generate-program.js';
import { computeLiveness, insnDef, normalizeIr } from '../../src/codegen/index.js';
import { loadProgramSpec } from '../../src/loader/loaded-program.js';
import { VerifierError } from '../../src/programs/verifier-error.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { udpFrame } from '../codegen/kernel-support.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

import { allowedCpus, pinToCpu } from './support/cpu-affinity.js';
import { randomCase, type DifferentialCase } from './support/differential-case.js';
import { DifferentialRun, formatDecision, type CpuPlacement } from './support/differential-run.js';
import { randomImage } from './support/map-image.js';
import { openFdCount } from '@syrup/test-support/open-fds';

/*
 * The policies at the edge of what the kernel takes.
 *
 * corpus/rejected/: valid policies (the front end and the code generator accept them) that the
 * verifier refuses. The refusal must be a VerifierError pointing at the policy's TypeScript
 * line and column, with exactly the message in corpus/rejected/expected-messages.json, and
 * must leave nothing open. The messages name the instruction the verifier stopped at, so a
 * change of the code generator's output or of the kernel's search order moves them: update the
 * file then (the test prints what it got).
 *
 * Spilling: policies with more values live across helper calls than r6-r9 hold (core's
 * many-live-values corpus policy and corpus/valid/) load and give the evaluator's decisions,
 * as do the rest of core's valid corpus that an XDP harness can run.
 */

const here = (path: string): URL => new URL(path, import.meta.url);
const read = (url: URL): string => readFileSync(url, 'utf8');

interface ExpectedRejection {
  /** The message of the VerifierError for the XDP test harness build and for the socket-select build. */
  readonly harness: string;
  readonly socketSelect: string;
}

const REJECTED_DIR = here('./corpus/rejected/');
const expected = JSON.parse(read(new URL('expected-messages.json', REJECTED_DIR))) as Record<string, ExpectedRejection>;
const rejected = readdirSync(REJECTED_DIR)
  .filter((f) => f.endsWith('.ts'))
  .sort();

/** Most values live across one helper call (map operation or helper) of the policy's normalized IR. */
function mostLiveAcrossACall(ir: PolicyIr): number {
  const { insns, registerCount } = normalizeIr(ir);
  const liveness = computeLiveness(insns, registerCount);
  let most = 0;
  insns.forEach((insn, index) => {
    if (insn.op !== 'helper' && !insn.op.startsWith('map-')) return;
    const def = insnDef(insn);
    let live = 0;
    for (const v of liveness.liveOut[index]!.values()) if (v !== def) live++;
    most = Math.max(most, live);
  });
  return most;
}

describeKernel('the verifier corpus', { needs: ['bpf'] }, () => {
  let fdsBefore = 0;
  beforeAll(() => {
    fdsBefore = openFdCount();
  });

  describe('valid policies the verifier refuses', () => {
    it('has at least one, and an expected message for each', () => {
      expect(rejected.length).toBeGreaterThan(0);
      expect(Object.keys(expected).sort()).toEqual(rejected);
    });

    for (const fileName of rejected) {
      it(`${fileName}: passes the front end and the code generator, then is refused at its TypeScript line and column`, () => {
        const text = read(new URL(fileName, REJECTED_DIR));
        const want = expected[fileName]!;
        const { ir } = compilePolicy({ fileName, text });
        const builds = [
          ['harness', generateTestHarness(ir, { sourceText: text }), want.harness],
          ['socketSelect', generateProgram(ir, { target: 'socket-select', sourceText: text }), want.socketSelect],
        ] as const;
        const before = openFdCount();
        for (const [name, spec, message] of builds) {
          let error: unknown;
          try {
            // Log level 1 from the start: the program is verified once, not once without a log and again with one.
            loadProgramSpec(spec, { logLevel: 1 }).close();
          } catch (caught) {
            error = caught;
          }
          expect(error, `${name} build of ${fileName} loaded`).toBeInstanceOf(VerifierError);
          const verifierError = error as VerifierError;
          expect(verifierError.message, `${name}: ${verifierError.message}`).toBe(message);
          expect(verifierError.source?.file).toBe(fileName);
          // The message names the policy's file, line and column, and the error carries them as data.
          expect(verifierError.message).toContain(`${fileName}:${verifierError.source?.line}:${verifierError.source?.column}`);
          expect(verifierError.log.length).toBeGreaterThan(0);
        }
        expect(openFdCount()).toBe(before);
      }, 60_000);
    }
  });

  describe('policies that keep more values live across helper calls than r6-r9 hold', () => {
    let placement: CpuPlacement = { cpu: 0, cpus: 1 };
    let restore: (() => void) | undefined;
    beforeAll(() => {
      const cpu = allowedCpus().at(-1) ?? 0;
      restore = pinToCpu(cpu);
      placement = { cpu, cpus: nativeSyscalls().possibleCpus() };
    });
    afterAll(() => restore?.());

    const CORE_VALID = here('../../../core/test/compiler/corpus/valid/');
    const policies = [
      { url: new URL('many-live-values.ts', CORE_VALID), spills: true },
      { url: here('./corpus/valid/spill-across-calls.ts'), spills: true },
      { url: new URL('dns-drop.ts', CORE_VALID), spills: false },
      // random() and now() feed only `seen` (an lru-hash, whose eviction the kernel approximates); the decisions do not depend on them.
      { url: new URL('language-tour.ts', CORE_VALID), spills: false, realHelpers: true, ignoreMaps: ['seen'] },
    ];

    for (const policy of policies) {
      const fileName = policy.url.pathname.split('/').pop()!;
      it(`${fileName} loads and gives the evaluator's decisions and map contents on 300 inputs`, () => {
        const text = read(policy.url);
        const { ir } = compilePolicy({ fileName, text });
        if (policy.spills) {
          expect(mostLiveAcrossACall(ir)).toBeGreaterThanOrEqual(6);
          // The frame holds more than its fixed slots: values were spilled.
          expect(generateTestHarness(ir).stackSize).toBeGreaterThan(8 * 16);
        }
        const kind = ir.manifest.input as 'udp' | 'packet';
        using run = DifferentialRun.open({ fileName, text }, placement, {
          ...(policy.realHelpers ? { realHelpers: true } : {}),
          ...(policy.ignoreMaps ? { ignoreMaps: policy.ignoreMaps } : {}),
        });
        const rng = new SeededRandom(0xc0ffee);
        run.seed(randomImage(rng, ir.manifest.maps, placement.cpus));
        const seen = new Set<string>();
        for (let i = 0; i < 300; i++) {
          const c = i % 3 === 0 ? requestCase(rng, kind) : randomCase(rng, kind);
          const divergence = run.step(c);
          if (divergence !== undefined) {
            expect.fail(
              `${fileName} case ${i} (${c.shape}): kernel ${formatDecision(divergence.kernel)}, evaluator ${formatDecision(divergence.evaluator)}\n` +
                divergence.mapDiffs.join('\n'),
            );
          }
          seen.add(run.lastDecision.kind);
        }
        // Inputs shaped like the policies' requests reach past their early PASS.
        expect(seen.size).toBeGreaterThan(1);
      });
    }
  });

  it('left no kernel object behind', () => {
    expect(openFdCount()).toBe(fdsBefore);
  });
});

/**
 * An input shaped like the corpus policies' requests: a UDP datagram with a 24-byte payload of
 * small words (request types, users), or for packet policies a real IPv4 UDP frame, to port 53
 * half of the time.
 */
function requestCase(rng: SeededRandom, kind: 'udp' | 'packet'): DifferentialCase {
  const payload = new Uint8Array(24);
  const view = new DataView(payload.buffer);
  view.setUint32(0, rng.range(0, 3));
  view.setUint32(4, rng.range(0, 5));
  view.setBigUint64(8, rng.u64());
  view.setBigUint64(16, rng.u64());
  const srcPort = rng.int(0x1_0000);
  const dstPort = rng.chance(0.5) ? 53 : rng.int(0x1_0000);
  const host = rng.int(256);
  const frame = udpFrame({ payload, srcAddr: [10, 0, 0, host], dstAddr: [10, 0, 0, 2], srcPort, dstPort });
  if (kind === 'packet') return { frame, input: { data: frame }, shape: `UDP frame to port ${dstPort}` };
  return { frame, input: { srcAddr: 0x0a00_0000 + host, dstAddr: 0x0a00_0002, srcPort, dstPort, payload }, shape: 'request' };
}
