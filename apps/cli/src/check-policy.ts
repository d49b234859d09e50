import 'reflect-metadata';
import { compilePolicy, HookRegistry, PolicyCompileError, registerHookRegistry, type Backend, type DeployTarget, type HookSpec, type PolicyIr } from '@syrup/core';
import { findInstalledBackends, loadBackends, readPolicy } from '@syrup/runtime';
import { container as rootContainer } from 'tsyringe';
import { UsageError } from './cli-io.js';

/** One reason a policy cannot run at a hook, at its place in the policy. */
export interface CheckViolation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly violations: readonly CheckViolation[];
  /** The backend that judged (undefined when the front end refused first). */
  readonly backend?: string;
  /** What the backend says about how it judged (a device profile). */
  readonly notes: readonly string[];
}

export interface CheckOptions {
  readonly hook: string;
  readonly params?: Readonly<Record<string, bigint>>;
  readonly target?: DeployTarget;
  /** Backend packages by name or path; none: every installed one (by the naming convention of backends). */
  readonly backends: readonly string[];
  readonly cwd: string;
  /** The CLI's own package directory, where backend names also resolve. */
  readonly installDir: string;
}

/**
 * `syrup check`: whether a policy can run at a hook, decided in this process, without syrupd
 * and without root. It runs the front end, loads the backends through the runtime's loader
 * (the one behind syrupd's `--backend`) and asks the hook's backend to compile the IR, which
 * is where a backend refuses what its hook cannot run, then, as root, to have the code checked
 * where it would run (`verify`: the kernel's verifier). Every refusal becomes a violation at
 * the policy's line when the error carries one (`violations`, a `location` or a `source`).
 */
export async function checkPolicy(policy: string, options: CheckOptions): Promise<CheckResult> {
  const source = await readPolicy(policy, options.cwd);
  let ir: PolicyIr;
  try {
    ir = compilePolicy(source, options.params === undefined ? {} : { params: options.params }).ir;
  } catch (error) {
    if (!(error instanceof PolicyCompileError)) throw error;
    return { ok: false, violations: [{ file: error.fileName, line: error.line, column: error.column, reason: error.reason }], notes: [] };
  }

  const container = rootContainer.createChildContainer();
  registerHookRegistry(container);
  const find = { cwd: options.cwd, installDir: options.installDir, installName: 'syrup' };
  const specs = options.backends.length > 0 ? options.backends : findInstalledBackends(find);
  const outcomes = await loadBackends(specs, container, find);
  const registry = container.resolve<HookRegistry>(HookRegistry);
  const found = registry
    .backends()
    .filter((r) => r.refused === undefined)
    .flatMap((r) => r.backend.hooks.filter((h) => h.id === options.hook).map((hook) => ({ backend: r.backend, hook })))[0];
  if (found === undefined) {
    const loaded = outcomes.filter((o) => o.state === 'loaded').map((o) => o.name ?? o.spec);
    const failed = outcomes.filter((o) => o.state === 'failed' || (options.backends.length > 0 && o.state !== 'loaded')).map((o) => `${o.spec}: ${o.detail ?? o.reason ?? o.state}`);
    throw new UsageError(
      `no backend loaded here provides hook '${options.hook}' (loaded: ${loaded.length > 0 ? loaded.join(', ') : 'none'}${failed.length > 0 ? `; did not load: ${failed.join('; ')}` : ''}).`,
    );
  }
  return judge(found.backend, found.hook, ir, source, options.target);
}

async function judge(backend: Backend, hook: HookSpec, ir: PolicyIr, source: { fileName: string; text: string }, target: DeployTarget | undefined): Promise<CheckResult> {
  const at = (reason: string): CheckViolation => ({ file: ir.fileName, line: 1, column: 1, reason });
  if (!hook.inputs.includes(ir.manifest.input)) {
    return { ok: false, backend: backend.name, notes: [], violations: [at(`policy '${ir.manifest.name}' takes ${ir.manifest.input} inputs, and hook '${hook.id}' offers ${hook.inputs.join(' and ')}.`)] };
  }
  try {
    const artifact = await backend.compile({ policy: ir.manifest, ir, hook, source, ...(target === undefined ? {} : { target }) });
    const notes = [...(artifact.notes ?? [])];
    if (backend.verify !== undefined) {
      // The checker where the code would run (the kernel's verifier) needs root; without it the answer says so.
      if (process.getuid?.() === 0) await backend.verify(artifact);
      else notes.push(`not checked by the kernel's verifier (backend ${backend.name} needs root for that)`);
    }
    return { ok: true, backend: backend.name, violations: [], notes };
  } catch (error) {
    const notes = stringsOf((error as { notes?: unknown }).notes);
    return { ok: false, backend: backend.name, notes, violations: violationsOf(error, at) };
  }
}

/** The violations a backend's refusal carries: its `violations`, else its `location` (or `source`), else its message at line 1. */
function violationsOf(error: unknown, at: (reason: string) => CheckViolation): CheckViolation[] {
  const carried = (error as { violations?: unknown }).violations;
  if (Array.isArray(carried) && carried.length > 0 && carried.every(isViolation)) return carried;
  const message = error instanceof Error ? error.message : String(error);
  const location = (error as { location?: unknown }).location ?? (error as { source?: unknown }).source;
  if (isPlace(location)) {
    // A code generator's sentence may quote the place itself; the line shows it once.
    const reason = message.replace(` at ${location.file}:${location.line}:${location.column}`, '');
    return [{ file: location.file, line: location.line, column: location.column, reason }];
  }
  return [at(message)];
}

function isPlace(value: unknown): value is { file: string; line: number; column: number } {
  const v = value as { file?: unknown; line?: unknown; column?: unknown } | undefined;
  return typeof v === 'object' && v !== null && typeof v.file === 'string' && typeof v.line === 'number' && typeof v.column === 'number';
}

function isViolation(value: unknown): value is CheckViolation {
  return isPlace(value) && typeof (value as { reason?: unknown }).reason === 'string';
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
