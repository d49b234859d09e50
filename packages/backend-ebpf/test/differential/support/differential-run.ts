import { compilePolicy, PolicyEvaluator, type PolicyDecision, type PolicyIr } from '@syrup/core';
import { InMemoryDataMapStore, type DataMapStore } from '@syrup/maps';
import { HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES } from '../../../src/codegen/epilogues.js';
import { generateProgram, generateTestHarness } from '../../../src/codegen/generate-program.js';
import { loadProgramSpec, type LoadedProgram } from '../../../src/loader/loaded-program.js';
import type { KernelMap } from '../../../src/maps/kernel-map.js';
import type { TestRunner } from '../../../src/programs/test-runner.js';
import type { DifferentialCase } from './differential-case.js';
import { diffImages, snapshot, writeImage, type MapImage } from './map-image.js';

/** Where a policy is evaluated: the CPU the test thread is pinned to, and the per-CPU slots of a map. */
export interface CpuPlacement {
  readonly cpu: number;
  readonly cpus: number;
}

export interface DifferentialRunOptions {
  /**
   * Let the evaluator call random() and now() (its defaults) instead of throwing, for
   * policies whose decisions do not depend on them; the maps they feed go in `ignoreMaps`.
   */
  readonly realHelpers?: boolean;
  /** Maps left out of the comparison (written from random() or now(), or lru-hash maps that evict). */
  readonly ignoreMaps?: readonly string[];
  /**
   * Also build the policy for its real hooks (socket-select for udp, xdp-skb) and load each
   * once, so the verifier checks those builds too; they are closed right away (test runs cannot
   * drive socket-select, and the XDP hook build differs from the harness only in its ending).
   */
  readonly verifyHooks?: boolean;
}

/** What one case did on both sides, when they disagree. */
export interface Divergence {
  readonly kernel: PolicyDecision;
  readonly evaluator: PolicyDecision;
  /** Map entries that differ after the case (`m1[4]: kernel 7, evaluator 8`). */
  readonly mapDiffs: readonly string[];
  /** The maps before the case, on which both sides still agreed. */
  readonly before: MapImage;
}

/** A stable name of how a divergence looks, so a shrunk policy must keep failing the same way. */
export function divergenceKind(d: Divergence): string {
  const decision = !sameDecision(d.kernel, d.evaluator);
  return `diverged:${decision ? 'decision' : ''}${decision && d.mapDiffs.length > 0 ? '+' : ''}${d.mapDiffs.length > 0 ? 'maps' : ''}`;
}

export function sameDecision(a: PolicyDecision, b: PolicyDecision): boolean {
  return a.kind === b.kind && (a.kind !== 'executor' || (b.kind === 'executor' && a.key === b.key));
}

export function formatDecision(d: PolicyDecision): string {
  return d.kind === 'executor' ? `executor ${d.key}` : d.kind.toUpperCase();
}

const SENTINEL = 99n;

/**
 * One policy on both sides: the XDP test harness loaded in the kernel (maps created by the
 * loader) and core's evaluator over in-memory maps, both started from the same contents. The
 * evaluator's random() and now() throw: the suite's policies do not call them, and a policy
 * that did could not be compared. Owns the kernel objects; `close()` releases them.
 */
export class DifferentialRun implements Disposable {
  readonly ir: PolicyIr;
  readonly loaded: LoadedProgram;
  readonly evaluator: PolicyEvaluator;
  readonly memory: ReadonlyMap<string, DataMapStore>;
  /** The decision of the last case, both sides agreeing or not (the kernel's). */
  lastDecision: PolicyDecision = { kind: 'pass' };
  readonly #runner: TestRunner;
  readonly #result: KernelMap;
  readonly #key = new Uint8Array(4);
  readonly #value = new Uint8Array(8);

  readonly #ignore: ReadonlySet<string>;

  private constructor(ir: PolicyIr, loaded: LoadedProgram, placement: CpuPlacement, options: DifferentialRunOptions) {
    this.ir = ir;
    this.#ignore = new Set(options.ignoreMaps ?? []);
    this.loaded = loaded;
    this.memory = new Map(
      Object.entries(ir.manifest.maps).map(([name, spec]) => [name, new InMemoryDataMapStore(spec, { name, cpus: placement.cpus })]),
    );
    const unpredictable = (): never => {
      throw new Error('the differential suite cannot compare random() or now()');
    };
    this.evaluator = new PolicyEvaluator(ir, {
      maps: this.memory,
      cpu: placement.cpu,
      cpus: placement.cpus,
      ...(options.realHelpers ? {} : { random: unpredictable, now: unpredictable }),
    });
    this.#runner = loaded.program.testRunner();
    this.#result = loaded.systemMaps.get(SYSTEM_MAP_NAMES.result)!;
  }

  /** Compiles TypeScript source, builds the XDP test harness and loads it. Throws the compiler's, code generator's or loader's error. */
  static open(source: { readonly fileName: string; readonly text: string }, placement: CpuPlacement, options: DifferentialRunOptions = {}): DifferentialRun {
    const { ir } = compilePolicy(source);
    if (options.verifyHooks) {
      const hooks = ir.manifest.input === 'udp' ? (['socket-select', 'xdp-skb'] as const) : (['xdp-skb'] as const);
      for (const hook of hooks) loadProgramSpec(generateProgram(ir, { target: hook, sourceText: source.text })).close();
    }
    const loaded = loadProgramSpec(generateTestHarness(ir, { sourceText: source.text }));
    try {
      return new DifferentialRun(ir, loaded, placement, options);
    } catch (error) {
      loaded.close();
      throw error;
    }
  }

  /** Puts the same contents into the kernel's maps and the evaluator's. */
  seed(image: MapImage): void {
    writeImage(this.loaded.dataMaps, image);
    writeImage(this.memory, image);
  }

  /** The evaluator's maps, which equal the kernel's between cases. */
  image(): MapImage {
    return snapshot(this.memory);
  }

  /** Runs one case on both sides; undefined when decisions and every map entry agree. */
  step(c: DifferentialCase): Divergence | undefined {
    const before = this.image();
    const kernel = this.runKernel(c.frame);
    this.lastDecision = kernel;
    const evaluator = this.evaluator.evaluate(c.input);
    const mapDiffs = diffImages(this.#compared(snapshot(this.loaded.dataMaps)), this.#compared(this.image()));
    if (sameDecision(kernel, evaluator) && mapDiffs.length === 0) return undefined;
    return { kernel, evaluator, mapDiffs, before };
  }

  #compared(image: MapImage): MapImage {
    return this.#ignore.size === 0 ? image : new Map([...image].filter(([name]) => !this.#ignore.has(name)));
  }

  /** One BPF_PROG_TEST_RUN of the harness (repeat 1: more would swap the XDP dispatcher each call) and the decision it recorded. */
  runKernel(frame: Uint8Array): PolicyDecision {
    this.#write(0, SENTINEL);
    const run = this.#runner.run(frame);
    if (run.retval !== 2) throw new Error(`the harness returned ${run.retval}, not XDP_PASS`);
    const kind = this.#read(0);
    if (kind === BigInt(HARNESS_RESULT_KIND.executor)) return { kind: 'executor', key: this.#read(1) };
    if (kind === BigInt(HARNESS_RESULT_KIND.pass)) return { kind: 'pass' };
    if (kind === BigInt(HARNESS_RESULT_KIND.drop)) return { kind: 'drop' };
    throw new Error(`the harness recorded no decision (kind ${kind})`);
  }

  #write(key: number, value: bigint): void {
    new DataView(this.#key.buffer).setUint32(0, key, true);
    new DataView(this.#value.buffer).setBigUint64(0, value, true);
    this.#result.update(this.#key, this.#value);
  }

  #read(key: number): bigint {
    new DataView(this.#key.buffer).setUint32(0, key, true);
    const value = this.#result.lookup(this.#key);
    if (value === undefined) throw new Error(`the harness result map has no key ${key}`);
    return new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true);
  }

  close(): void {
    this.loaded.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
