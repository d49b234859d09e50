import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { Backend, SyrupError } from '@syrup/core';
import type { DependencyContainer } from 'tsyringe';
import { BackendLoadError } from './backend-load-error.js';
import { findBackendPackage, type FindOptions } from './find-backend-package.js';
import { activeConditions, packageEntry } from './package-entry.js';
import { RecordingContainer } from './recording-container.js';

/** A backend package whose `register(container)` ran: where it came from and how many backends it registered. */
export interface LoadedBackendPackage {
  /** As given: a name or a path. */
  readonly spec: string;
  /** Its package.json name (the spec when it has none). */
  readonly name: string;
  readonly dir: string;
  /** How many registrations it made under core's `Backend` token, in order after the packages loaded before it. */
  readonly backendCount: number;
}

export interface LoadOptions extends FindOptions {
  /** Export conditions for the package's entry; this process's by default (`source` when run from the clone). */
  readonly conditions?: ReadonlySet<string>;
}

/**
 * Loads one backend package into `container`: finds it (see findBackendPackage), imports its
 * entry and calls its exported `register(container)` (a named export, or the `register` of a
 * default-exported BackendModule). Throws a BackendLoadError naming the package; on any
 * failure nothing it registered is kept.
 */
export async function loadBackendPackage(spec: string, container: DependencyContainer, options: LoadOptions): Promise<LoadedBackendPackage> {
  const { dir, manifest } = findBackendPackage(spec, options);
  const name = typeof manifest.name === 'string' ? manifest.name : spec;
  const found = { name, dir };
  const entry = packageEntry(dir, manifest, options.conditions ?? activeConditions());
  if (entry === undefined) {
    throw new BackendLoadError('BACKEND_NO_REGISTER', `'${name}' (${dir}) is not a backend yet: it has no entry module to import.`, {
      detail: 'it has no entry module to import',
      found,
    });
  }
  if (!existsSync(entry)) {
    throw new BackendLoadError('BACKEND_IMPORT_FAILED', `'${name}' (${dir}) cannot be imported: its entry ${relative(dir, entry)} does not exist (is the package built?).`, { found });
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (error) {
    throw new BackendLoadError('BACKEND_IMPORT_FAILED', `importing '${name}' (${entry}) threw: ${firstLine(error)}`, { cause: error, found });
  }
  const register = registerOf(module);
  if (register === undefined) {
    throw new BackendLoadError('BACKEND_NO_REGISTER', `'${name}' (${dir}) is not a backend yet: it exports no register(container) function.`, {
      detail: 'it exports no register(container) function',
      found,
    });
  }
  const recording = new RecordingContainer(container);
  try {
    const returned: unknown = register(recording.view);
    // register is synchronous by contract; an async one would register after the registry looked.
    if (returned instanceof Promise) {
      returned.catch(() => undefined);
      throw new Error('it returned a promise, and register(container) must register synchronously');
    }
  } catch (error) {
    throw new BackendLoadError('BACKEND_REGISTER_FAILED', `the register(container) of '${name}' threw: ${firstLine(error)}`, { cause: error, found });
  }
  const backendCount = recording.count(Backend);
  recording.commit();
  return { spec, name, dir, backendCount };
}

function registerOf(module: Record<string, unknown>): ((container: DependencyContainer) => unknown) | undefined {
  if (typeof module['register'] === 'function') return module['register'] as (container: DependencyContainer) => unknown;
  const fallback = module['default'];
  if (typeof fallback === 'object' && fallback !== null && typeof (fallback as { register?: unknown }).register === 'function') {
    const moduleObject = fallback as { register: (container: DependencyContainer) => unknown };
    return (container) => moduleObject.register(container);
  }
  return undefined;
}

/** The first line of an error's message, ending with a full stop: a backend's failure in one sentence. */
function firstLine(error: unknown): string {
  const text = error instanceof SyrupError || error instanceof Error ? error.message : String(error);
  const first = (text.split('\n')[0] ?? '').trim();
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
