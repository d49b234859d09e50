import type { PolicyIr } from '@syrup/core';
import type { InstructionFields, Label } from '../../asm/index.js';
import type { ProgramSpec } from '../program-spec.js';
import type { CodegenHook } from '../targets/builtin-targets.js';

/**
 * What a hook asks the generator for when the work may run on another thread: one of this
 * backend's targets by id (a target is code, which cannot cross threads; its id can) and the
 * plain options `generateProgram` takes with it.
 */
export interface BuiltinCodegenOptions {
  readonly target: CodegenHook;
  readonly port?: number;
  readonly maxExecutors?: number;
  readonly sourceText?: string;
}

/** Messages between CodegenPool and its worker (structured clone: plain data, bigints, typed arrays). */
export interface CodegenJob {
  readonly id: number;
  readonly ir: PolicyIr;
  readonly options: BuiltinCodegenOptions;
}

/**
 * A ProgramSpec after the structured clone: its instructions are plain objects with the
 * fields of an `Instruction` (the class does not survive the clone) or label markers.
 */
export type ProgramSpecData = Omit<ProgramSpec, 'instructions'> & { readonly instructions: readonly AsmItemData[] };
export type AsmItemData = InstructionFields | Label;

/** An error crossing the thread boundary, rebuilt on the main thread as the same class with the same code and sentence. */
export type CodegenFailure =
  | { readonly kind: 'codegen'; readonly code: string; readonly message: string; readonly location?: { readonly file: string; readonly line: number; readonly column: number } }
  | { readonly kind: 'asm' | 'btf'; readonly code: string; readonly message: string }
  | { readonly kind: 'other'; readonly message: string };

export type CodegenReply =
  | { readonly id: number; readonly ok: true; readonly spec: ProgramSpecData; readonly listing: readonly string[] }
  | { readonly id: number; readonly ok: false; readonly error: CodegenFailure };

/** The worker's first message, once it has loaded the generator. */
export interface CodegenWorkerReady {
  readonly ready: true;
}
