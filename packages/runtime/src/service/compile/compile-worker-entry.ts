import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** How to start the compile worker from wherever this module runs. */
export interface CompileWorkerEntry {
  readonly url: URL;
  /** Node options for the worker; undefined inherits the parent's. */
  readonly execArgv?: readonly string[];
  /** Extra environment for the worker; undefined shares the parent's. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The worker file sits next to this module: `compile-worker.ts` when the runtime runs from
 * its TypeScript sources (tests, the bins through tsx), `compile-worker.js` in the built
 * dist/ (tsup emits it as its own entry beside index.js, which is where this code is bundled).
 * From source, the worker needs what the bins give the parent: tsx's loader and the `source`
 * export condition (so `@syrup/core` loads from TypeScript). A parent under vitest has neither
 * on its command line, so the worker gets them, with a tsconfig that gives core's sources their
 * experimental decorators.
 */
export function compileWorkerEntry(moduleUrl: string = import.meta.url): CompileWorkerEntry {
  if (!moduleUrl.endsWith('.ts')) return { url: new URL('./compile-worker.js', moduleUrl) };
  const url = new URL('./compile-worker.ts', moduleUrl);
  // Under tsx (the bins) the parent's options are exactly what the worker needs. Anything
  // else (vitest adds its own --conditions, which break tslib under tsx) gets a clean set.
  const underTsx = process.execArgv.some((arg) => /[\\/]tsx[\\/]|^tsx$/.test(arg)) && process.execArgv.some((arg) => arg === '--conditions=source');
  const execArgv = underTsx ? [...process.execArgv] : ['--conditions=source', '--import', pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href];
  const env = process.env['TSX_TSCONFIG_PATH'] === undefined ? { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../../tsconfig.tsx.json', moduleUrl)) } : undefined;
  return { url, execArgv, ...(env !== undefined ? { env } : {}) };
}
