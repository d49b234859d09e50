import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './cli-io.js';
import { policyPackFiles } from './policy-pack-template.js';

/** npm's package names: an optional `@scope/` and a name without slashes, lower case. */
const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;
/** A policy's name is a file name and an `exports` subpath. */
const POLICY_NAME = /^[a-z][a-z0-9-]*$/;

export interface NewPolicyPackOptions {
  /** The package name; the directory's name by default. */
  readonly name?: string;
  /** The one policy's name (its file and export subpath); `round-robin` by default. */
  readonly policy?: string;
}

/**
 * `syrup new policy-pack <dir>`: writes a policy pack into `dir` (created, or existing and
 * empty) and answers the files written. Refuses, before writing anything, a directory that
 * holds files, and names that npm or the pack's `exports` cannot take.
 */
export function newPolicyPack(dir: string, cwd: string, syrupVersion: string, options: NewPolicyPackOptions = {}): string[] {
  const target = resolve(cwd, dir);
  const name = options.name ?? basename(target);
  const policy = options.policy ?? 'round-robin';
  if (existsSync(target) && readdirSync(target).length > 0) throw new UsageError(`${target} is not empty; a new policy pack needs an empty or new directory.`);
  if (!PACKAGE_NAME.test(name)) throw new UsageError(`'${name}' is not a valid npm package name (lower case, optionally @scope/name); pass one with --name.`);
  if (!POLICY_NAME.test(policy)) throw new UsageError(`--policy takes a lower-case name of letters, digits and dashes, not '${policy}'.`);
  const files = policyPackFiles(name, policy, syrupVersion);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    writeFileSync(join(target, file), text);
  }
  return Object.keys(files).map((file) => join(target, file));
}
