import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** How to start the code generation worker from wherever this module runs. */
export interface CodegenWorkerEntry {
  readonly url: URL;
  /** Node options for the worker; undefined inherits the parent's. */
  readonly execArgv?: readonly string[];
  /** Extra environment for the worker; undefined shares the parent's. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * From source (tests, tsx), the worker is `codegen-worker.ts` beside this module and needs
 * tsx's loader, the `source` export condition and a tsconfig that gives core's sources their
 * experimental decorators; a parent under tsx with `--conditions=source` already has them, a
 * parent under vitest does not (its own conditions break tslib under tsx). From the built
 * dist/, the worker is tsup's `codegen/worker/codegen-worker.js` entry, while this module is bundled
 * into whichever file imports it (dist/index.js, dist/codegen/index.js or a shared chunk in
 * dist/): the first candidate that exists is the one.
 */
export function codegenWorkerEntry(moduleUrl: string = import.meta.url): CodegenWorkerEntry {
  if (!moduleUrl.endsWith('.ts')) {
    const candidates = ['./codegen/worker/codegen-worker.js', './worker/codegen-worker.js', './codegen-worker.js'].map((path) => new URL(path, moduleUrl));
    return { url: candidates.find((url) => existsSync(fileURLToPath(url))) ?? candidates[0]! };
  }
  const url = new URL('./codegen-worker.ts', moduleUrl);
  const underTsx = process.execArgv.some((arg) => /[\\/]tsx[\\/]|^tsx$/.test(arg)) && process.execArgv.some((arg) => arg === '--conditions=source');
  const execArgv = underTsx ? [...process.execArgv] : ['--conditions=source', '--import', pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href];
  const env = process.env['TSX_TSCONFIG_PATH'] === undefined ? { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../../../tsconfig.tsx.json', moduleUrl)) } : undefined;
  return { url, execArgv, ...(env !== undefined ? { env } : {}) };
}
