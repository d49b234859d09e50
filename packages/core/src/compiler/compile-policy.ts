import ts from './lazy-typescript.js';
import type { PolicySource } from '../backend/backend.js';
import { POLICY_IR_VERSION, type PolicyIr } from '../ir/policy-ir.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import type { InputFieldTable } from '../policy/input-fields.js';
import { publishFrontEndRun } from './front-end-channel.js';
import { PolicyCompileError } from './policy-compile-error.js';
import { POLICY_LIMITS, type PolicyLimits } from './policy-limits.js';
import { readPolicyOptions, scanPolicyModule } from './policy-module.js';
import { ScheduleLowerer } from './schedule-lowerer.js';
import { SourceContext } from './source-context.js';
import { deepestNode, isStackOverflow, whereParserOverflows } from './stack-overflow.js';

export interface CompilePolicyOptions {
  /** Deploy-time values for params the policy declares; they replace the declared defaults. */
  readonly params?: Readonly<Record<string, number | bigint>>;
  /** Tighter (or, for tests, looser) bounds than {@link POLICY_LIMITS}. */
  readonly limits?: Partial<PolicyLimits>;
  /**
   * The input fields policy code may read; default the language's own, `STANDARD_INPUT_FIELDS`.
   * For tests of a field before it joins the table (see policy/input-fields.ts for why it is a parameter).
   */
  readonly inputFields?: InputFieldTable;
}

/** A compiled policy: its IR, and its manifest with the params the code was compiled with. */
export interface CompiledPolicy {
  readonly ir: PolicyIr;
  readonly manifest: PolicyManifest;
}

/**
 * Compiles a policy module's text to the policy IR. The text is parsed with the TypeScript
 * parser only (no type check, so a compile takes well under a millisecond); the
 * `definePolicy({...})` call's manifest is read from literals, and `schedule` plus the
 * same-module functions it calls are lowered as described in docs/policy-language.md.
 * Anything outside the policy language throws {@link PolicyCompileError}
 * (`file:line:column: reason`). Each run is announced on `FRONT_END_CHANNEL`
 * (front-end-channel.ts), which tests use to count runs.
 */
export function compilePolicy(source: PolicySource, options: CompilePolicyOptions = {}): CompiledPolicy {
  const limits: PolicyLimits = { ...POLICY_LIMITS, ...options.limits };
  const { fileName, text } = source;
  publishFrontEndRun({ fileName });
  if (text.length > limits.maxSourceLength) {
    throw new PolicyCompileError(fileName, 1, 1, `the policy source has ${text.length} characters, more than the limit of ${limits.maxSourceLength}`);
  }
  const tooDeep = firstBracketDeeperThan(text, limits.maxNestingDepth);
  if (tooDeep !== undefined) {
    // Checked before parsing: the parser recurses per level and would exhaust the stack.
    throw new PolicyCompileError(fileName, ...lineAndColumn(text, tooDeep), `brackets are nested more than ${limits.maxNestingDepth} levels deep`, { code: 'POLICY_TOO_DEEP' });
  }
  let sourceFile: ts.SourceFile;
  try {
    sourceFile = parse(fileName, text);
  } catch (error) {
    // The parser recurses per statement and operator too (if (x) if (x)..., !!!x, a<a<a...), which no bracket count sees.
    if (!isStackOverflow(error)) throw error;
    const at = whereParserOverflows(fileName, text, parse);
    throw new PolicyCompileError(fileName, ...lineAndColumn(text, at), 'the policy is nested too deeply to parse', { cause: error, code: 'POLICY_TOO_DEEP' });
  }
  const ctx = new SourceContext(fileName, sourceFile);
  // parseDiagnostics is not in the public typings, but it is what the syntactic-diagnostics API returns for a file.
  const syntaxErrors = (sourceFile as unknown as { parseDiagnostics?: readonly ts.Diagnostic[] }).parseDiagnostics ?? [];
  const first = syntaxErrors[0];
  if (first) ctx.fail(ctx.posAt(first.start ?? 0), ts.flattenDiagnosticMessageText(first.messageText, ' '));

  try {
    const module = scanPolicyModule(ctx);
    const lowerer = new ScheduleLowerer(ctx, module, limits, options.inputFields);
    lowerer.checkModuleConstants();
    const { manifest, schedule } = readPolicyOptions(ctx, module, (name, at) => lowerer.moduleConstantOrUndefined(name, at), options.params);
    const { insns, registerCount } = lowerer.lower(schedule, manifest);
    const ir: PolicyIr = { version: POLICY_IR_VERSION, manifest, fileName, registerCount, insns };
    return { ir, manifest };
  } catch (error) {
    // The lowerer stops at maxNestingDepth itself; a walk that recursed deeper first still gets a sentence at the deepest construct.
    if (!isStackOverflow(error)) throw error;
    return ctx.fail(deepestNode(sourceFile), `the policy is nested too deeply to compile (the front end follows at most ${limits.maxNestingDepth} levels)`, error, 'POLICY_TOO_DEEP');
  }
}

function parse(fileName: string, text: string): ts.SourceFile {
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
}

/** 1-based line and column of a text offset, counting the line breaks the TypeScript scanner counts. */
function lineAndColumn(text: string, offset: number): [number, number] {
  const lines = text.slice(0, offset).split(/\r\n|[\r\n\u2028\u2029]/);
  return [lines.length, (lines.at(-1) ?? '').length + 1];
}

/**
 * Offset of the first bracket that opens deeper than `limit`, skipping comments, strings and
 * template text (roughly: good enough to keep the parser's recursion bounded).
 */
function firstBracketDeeperThan(text: string, limit: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c && (c === '`' || text[i] !== '\n'); i++) if (text[i] === '\\') i++;
    } else if (c === '(' || c === '[' || c === '{') {
      if (++depth > limit) return i;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
    }
  }
  return undefined;
}
