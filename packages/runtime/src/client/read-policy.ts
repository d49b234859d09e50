import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { PolicySource } from '@syrup/core';
import { RuntimeError } from '../errors/runtime-error.js';

/**
 * Turns what a user names into policy text, on the client side (the daemon never opens a
 * path): a `PolicySource` passes through; a string that looks like a path (absolute, `./`,
 * `../`, or ending in `.ts`/`.js` and existing) is read relative to `cwd`; anything else is a
 * package specifier such as `@syrup/policies-std/sita`, resolved through the package's
 * `exports` the way Node would from `cwd`.
 */
export async function readPolicy(policy: string | PolicySource, cwd: string = process.cwd()): Promise<PolicySource> {
  if (typeof policy !== 'string') return policy;
  const path = looksLikePath(policy) ? resolve(cwd, policy) : resolveSpecifier(policy, cwd);
  try {
    return { fileName: shownPath(path, cwd), text: await readFile(path, 'utf8') };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RuntimeError('POLICY_NOT_FOUND', `cannot read policy '${policy}': ${reason}.`, { cause: error });
  }
}

/**
 * The policy's file as messages show it (`file:line:col: reason`): relative to `cwd` when it is
 * inside it, absolute otherwise, never the bare file name, which leaves the user guessing
 * which of several `sita.ts` was meant.
 */
function shownPath(path: string, cwd: string): string {
  const inside = relative(resolve(cwd), path);
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

function looksLikePath(policy: string): boolean {
  return isAbsolute(policy) || policy.startsWith('./') || policy.startsWith('../') || policy === '.' || (!policy.startsWith('@') && /\.[cm]?[jt]s$/.test(policy));
}

function resolveSpecifier(specifier: string, cwd: string): string {
  // createRequire from a file inside cwd resolves as a module there would: node_modules
  // upwards and the package's `exports` map (the `require`/`default` conditions).
  const require = createRequire(join(cwd, 'noop.js'));
  try {
    return require.resolve(specifier);
  } catch (error) {
    throw new RuntimeError('POLICY_NOT_FOUND', `cannot resolve policy '${specifier}' from ${cwd}: it is neither a file nor an exported module of an installed package.`, {
      cause: error,
    });
  }
}
