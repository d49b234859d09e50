import type { AbandonRequest, AttachRequest, Attachment, Authorization, AuthorizeRequest, HookProbe, HookSpec, PolicyIr, RestoreRequest, TargetClaim, TargetRequest } from '@syrup/core';
import type { ProgramSpec } from '../codegen/program-spec.js';
import type { BuiltinCodegenOptions } from '../codegen/worker/codegen-messages.js';
import type { FeatureReport } from '../features/probe-features.js';

/** What the eBPF backend compiles for one hook: the generated program spec and its IR. */
export interface EbpfArtifact {
  readonly backend: 'ebpf';
  readonly hook: string;
  readonly policy: PolicyIr['manifest'];
  readonly ir: PolicyIr;
  readonly program: ProgramSpec;
}

/** Options the backend passes when compiling for a hook (from the deploy target). */
export interface HookCompileOptions {
  /** The deploy target's port, for hooks that filter on it (XDP). */
  readonly port?: number;
  /** The policy module's text, for BTF line info. */
  readonly sourceText?: string;
}

/**
 * One network hook of the eBPF backend: its spec, whether this machine can run it (from the
 * shared capability probe), how the IR becomes a program for it, and how that program attaches
 * to a target. The backend registers one per hook and routes every call by hook id.
 */
export interface NetworkHook {
  readonly spec: HookSpec;
  probe(features: FeatureReport): HookProbe;
  /** Generates the program on the calling thread (tests, tools). */
  compile(ir: PolicyIr, options: HookCompileOptions): ProgramSpec;
  /**
   * Optional: what `compile` generates, as one of this backend's targets by id and plain
   * options, so the backend can generate it on its code generation worker instead of the
   * event loop. Hooks without it are compiled with `compile`.
   */
  codegen?(ir: PolicyIr, options: HookCompileOptions): BuiltinCodegenOptions;
  attach(request: AttachRequest<EbpfArtifact>): Promise<Attachment>;
  /** What a deployment on the target holds (`Backend.claims`); none when absent. */
  claims?(request: TargetRequest): readonly TargetClaim[];
  /** Proves a non-root caller may use the target (`Backend.authorize`); without it the hook is root-only. */
  authorize?(request: AuthorizeRequest): Authorization;
  /** Rebuilds an attachment from its pins (optional: hooks without it refuse restores). */
  restore?(request: RestoreRequest): Promise<Attachment>;
  /** Undoes what a crashed daemon's unfinished operation left (`Backend.abandon`); hooks without it leave the kernel alone. */
  abandon?(request: AbandonRequest): Promise<void>;
}
