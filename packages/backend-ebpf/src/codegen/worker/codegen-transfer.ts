import { AsmError, Instruction, isLabel, label, type AsmErrorCode, type AsmItem } from '../../asm/index.js';
import { BtfError, type BtfErrorCode } from '../../btf/btf-error.js';
import { CodegenError, type CodegenErrorCode } from '../codegen-error.js';
import type { ProgramSpec } from '../program-spec.js';
import type { CodegenFailure, ProgramSpecData } from './codegen-messages.js';

/**
 * The ProgramSpec a worker generated, as the main thread uses it: the structured clone turned
 * every `Instruction` into a plain object, so each is rebuilt (the constructor checks its
 * fields again) and every label marker refrozen. Everything else in a spec is plain data.
 */
export function programSpecFromData(data: ProgramSpecData): ProgramSpec {
  const instructions: AsmItem[] = data.instructions.map((item) => (isLabel(item) ? label(item.name) : new Instruction(item)));
  return { ...data, instructions };
}

/** The error a generator threw, as data that survives the structured clone. */
export function codegenFailureOf(error: unknown): CodegenFailure {
  if (error instanceof CodegenError) {
    return { kind: 'codegen', code: error.code, message: error.message, ...(error.location === undefined ? {} : { location: { ...error.location } }) };
  }
  if (error instanceof AsmError) return { kind: 'asm', code: error.code, message: error.message };
  if (error instanceof BtfError) return { kind: 'btf', code: error.code, message: error.message };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

/** The same class, code, sentence and position the generator threw on the worker. */
export function errorOfCodegenFailure(failure: CodegenFailure): Error {
  switch (failure.kind) {
    case 'codegen':
      return new CodegenError(failure.code as CodegenErrorCode, failure.message, failure.location === undefined ? {} : { location: failure.location });
    case 'asm':
      return new AsmError(failure.code as AsmErrorCode, failure.message);
    case 'btf':
      return new BtfError(failure.code as BtfErrorCode, failure.message);
    case 'other':
      return new Error(failure.message);
  }
}
