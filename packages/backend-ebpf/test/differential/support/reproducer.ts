import { compilePolicy, type PolicyIr } from '@syrup/core';
import type { RandomPolicy } from '@syrup/core/testing';
import { formatInput, hex, type DifferentialCase } from './differential-case.js';
import { DifferentialRun, divergenceKind, formatDecision, type CpuPlacement, type Divergence } from './differential-run.js';
import { formatImage, type MapImage } from './map-image.js';
import { shrinkSource } from './shrink-source.js';

/** A generated policy that failed: it diverged on one case, or it did not compile, load or evaluate. */
export interface PolicyFailure {
  readonly policy: RandomPolicy;
  /** The generator call that rebuilds the policy, as code. */
  readonly generator: string;
  readonly placement: CpuPlacement;
  readonly caseIndex?: number;
  readonly cases?: number;
  readonly case?: DifferentialCase;
  readonly divergence?: Divergence;
  readonly error?: unknown;
}

/** `Name:CODE` of an error, how a shrunk policy must keep failing. */
export function errorKind(error: unknown): string {
  if (!(error instanceof Error)) return `thrown:${String(error)}`;
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? `:${code}` : ''}`;
}

/** The part of an image for the maps a (shrunk) policy still declares with the same spec. */
function imageFor(image: MapImage, ir: PolicyIr, original: PolicyIr | undefined): MapImage {
  const out = new Map<string, ReadonlyMap<number, readonly bigint[]>>();
  for (const [name, spec] of Object.entries(ir.manifest.maps)) {
    const was = original?.manifest.maps[name];
    const entries = image.get(name);
    if (entries !== undefined && (was === undefined || (was.kind === spec.kind && was.maxEntries === spec.maxEntries))) out.set(name, entries);
  }
  return out;
}

/**
 * How `text` fails on one case started from `before` (or, without a case, whether it loads at
 * all): a divergence kind, an error kind, or undefined when both sides agree. Every kernel
 * object is closed before it returns.
 */
export function outcome(
  fileName: string,
  text: string,
  placement: CpuPlacement,
  replay?: { readonly before: MapImage; readonly case: DifferentialCase; readonly original?: PolicyIr },
): { kind: string | undefined; divergence?: Divergence } {
  let run: DifferentialRun;
  try {
    run = DifferentialRun.open({ fileName, text }, placement, { verifyHooks: true });
  } catch (error) {
    return { kind: errorKind(error) };
  }
  try {
    if (replay === undefined) return { kind: undefined };
    run.seed(imageFor(replay.before, run.ir, replay.original));
    const divergence = run.step(replay.case);
    return divergence === undefined ? { kind: undefined } : { kind: divergenceKind(divergence), divergence };
  } catch (error) {
    return { kind: errorKind(error) };
  } finally {
    run.close();
  }
}

/**
 * A failure as a report a developer can act on without rerunning the suite: the seed and the
 * generator call, the decisions on both sides, the differing map entries, the maps before the
 * case, the frame and the evaluator's input, and the policy source shrunk to the lines the
 * failure needs (checked by replaying the one case on the same starting maps, so the shrunk
 * source with that input and those maps is a complete reproducer).
 */
export function describeFailure(failure: PolicyFailure, options: { shrink?: boolean } = {}): string {
  const { policy, placement } = failure;
  const lines: string[] = [];
  const header = `policy seed ${policy.seed} (${failure.generator})`;
  let source = policy.text;
  let sourceNote = 'as generated';

  if (failure.divergence !== undefined && failure.case !== undefined) {
    const c = failure.case;
    const d = failure.divergence;
    const kind = divergenceKind(d);
    let original: PolicyIr | undefined;
    try {
      original = compilePolicy(policy).ir;
    } catch {
      original = undefined;
    }
    const replay = { before: d.before, case: c, ...(original === undefined ? {} : { original }) };
    let shown = d;
    const alone = outcome(policy.fileName, policy.text, placement, replay);
    if (alone.kind !== kind) {
      sourceNote = `as generated; replaying the case alone on the same maps gave ${alone.kind ?? 'agreement'}, so the earlier cases matter`;
    } else if (options.shrink !== false) {
      const shrunk = shrinkSource(policy.text, (candidate) => outcome(policy.fileName, candidate, placement, replay).kind === kind);
      const again = outcome(policy.fileName, shrunk.text, placement, replay);
      if (again.kind === kind && again.divergence !== undefined) {
        shown = again.divergence;
        source = shrunk.text;
        const before = policy.text.split('\n').length;
        const after = shrunk.text.split('\n').length;
        sourceNote = `shrunk from ${before} to ${after} lines in ${shrunk.attempts} tries; this source, these maps and this input diverge the same way (${kind})`;
      }
    }
    lines.push(
      `${header} diverged at case ${failure.caseIndex ?? '?'} of ${failure.cases ?? '?'} (${policy.input} input, ${c.shape}), pinned to cpu ${placement.cpu} of ${placement.cpus}:`,
      `  kernel:    ${formatDecision(shown.kernel)}`,
      `  evaluator: ${formatDecision(shown.evaluator)}`,
      ...(shown.mapDiffs.length === 0 ? ['  maps agree'] : ['  differing map entries:', ...shown.mapDiffs.map((l) => `    ${l}`)]),
      '  maps before the case (both sides agreed):',
      ...formatImage(shown.before, original?.manifest.maps ?? {})
        .split('\n')
        .map((l) => `    ${l}`),
      `  frame: hex'${hex(c.frame)}'`,
      `  evaluator input: ${formatInput(c.input)}`,
    );
  } else {
    const error = failure.error;
    const kind = errorKind(error);
    lines.push(`${header} failed before any case: ${error instanceof Error ? error.message : String(error)}`);
    if (options.shrink !== false && !kind.startsWith('PolicyCompileError')) {
      const shrunk = shrinkSource(policy.text, (candidate) => outcome(policy.fileName, candidate, placement).kind === kind);
      if (shrunk.text !== policy.text) {
        source = shrunk.text;
        sourceNote = `shrunk from ${policy.text.split('\n').length} to ${shrunk.text.split('\n').length} lines in ${shrunk.attempts} tries; it still fails with ${kind}`;
      }
    }
  }
  lines.push(`--- ${policy.fileName} (${sourceNote}) ---`, source);
  return lines.join('\n');
}
