import { describe, it } from 'vitest';
import { missingNeeds, needReason, type MissingNeed, type Need } from './kernel-needs.js';

export { NEED_NAMES, needKind, needReason, missingNeeds, type MissingNeed, type Need, type NeedKind } from './kernel-needs.js';

/** True when SYRUP_REQUIRE_KERNEL=1: a kernel test that cannot run is then a failure, not a skip. */
export const kernelRequired = process.env['SYRUP_REQUIRE_KERNEL'] === '1';

export interface KernelSuiteOptions {
  /** What the suite cannot run without; see `NEED_NAMES`. At least one. */
  readonly needs: readonly [Need, ...Need[]];
}

/** What a suite does when a need is missing: run, skip with a reason, or fail with it. */
export type GateDecision = { readonly run: true } | { readonly run: false; readonly fail: boolean; readonly reason: string };

/**
 * The gate's one rule. Every missing need is named in the reason, needs missing for the same
 * cause in one clause. Under SYRUP_REQUIRE_KERNEL=1
 * a missing machine need (privilege, bpf feature, netns...) fails; a missing variant need
 * (nfp, ghost, sched-ext: hardware or kernels CI does not have) still skips, since requiring it
 * would fail every run.
 */
export function gateDecision(missing: readonly MissingNeed[], required = kernelRequired): GateDecision {
  if (missing.length === 0) return { run: true };
  // Needs missing for one cause (no privileges make every bpf need fail alike) share one clause, so the line stays short.
  const byReason = new Map<string, string[]>();
  for (const m of missing) byReason.set(m.reason, [...(byReason.get(m.reason) ?? []), m.need]);
  const reason = [...byReason].map(([why, needs]) => `needs ${needs.join(', ')}: ${why.replace(/\.$/, '')}`).join('; ');
  return { run: false, fail: required && missing.some((m) => m.kind === 'machine'), reason };
}

/**
 * `describe` for suites that need the real kernel:
 * `describeKernel('XDP hooks', { needs: ['bpf', 'netns', 'xdp-driver'] }, () => { ... })`.
 * A suite missing a need skips, its name ending with `(skipped: <reason>)`; see
 * {@link gateDecision} for when it fails instead.
 */
export function describeKernel(name: string, options: KernelSuiteOptions, body: () => void): void {
  if (options.needs.length === 0) throw new TypeError(`describeKernel('${name}') names no needs; a suite that needs nothing is a plain describe.`);
  const decision = gateDecision(missingNeeds(options.needs));
  if (decision.run) {
    describe(name, body);
  } else if (decision.fail) {
    describe(name, () => {
      it('runs with the privileges and kernel features it needs', () => {
        throw new Error(`SYRUP_REQUIRE_KERNEL=1 but this suite ${decision.reason}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${decision.reason})`, body);
  }
}
