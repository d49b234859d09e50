import { STANDARD_HOOKS, parseTargetFieldText, targetFieldsOf, targetOfFields, type DeployTarget, type TargetField } from '@syrup/core';
import { UsageError } from './cli-io.js';

/** The target flags that predate `--target` and stay as its aliases. */
export interface TargetAliases {
  readonly port?: number;
  readonly pid?: number;
  readonly protocol?: 'udp' | 'tcp';
  readonly interface?: string;
  readonly queue?: number;
}

/**
 * The deploy target of `syrup deploy`: `--target key=value` words read per the hook's target
 * fields (core's standard hooks; a third-party hook's fields are read as integers where they
 * look like integers or lists of them, else as text, and its schema on the daemon judges), and
 * the alias flags. Fields other than the wire's five travel in `extra`. A key given twice with
 * different values is a usage error.
 */
export function deployTarget(hook: string, aliases: TargetAliases, words: readonly string[]): DeployTarget {
  const known = Object.hasOwn(STANDARD_HOOKS, hook) ? targetFieldsOf(STANDARD_HOOKS[hook as keyof typeof STANDARD_HOOKS].target) : undefined;
  const fields: Record<string, unknown> = {};
  const given = new Map<string, string>();
  const set = (name: string, value: unknown, flag: string): void => {
    const before = given.get(name);
    if (before !== undefined && JSON.stringify(fields[name]) !== JSON.stringify(value)) {
      throw new UsageError(`${before} and ${flag} name different values for target field '${name}'.`);
    }
    given.set(name, flag);
    fields[name] = value;
  };
  for (const [name, value] of Object.entries(aliases)) if (value !== undefined) set(name, value, `--${name}`);
  for (const word of words) {
    const match = /^([A-Za-z_$][\w$]*)=(.*)$/s.exec(word);
    if (match === null) throw new UsageError(`--target takes KEY=VALUE (lists as cpus=0,1), not '${word}'.`);
    const [, name, text] = match as unknown as [string, string, string];
    const field = known?.find((f) => f.name === name);
    if (known !== undefined && field === undefined) {
      throw new UsageError(`hook '${hook}' has no target field '${name}' (it has ${known.map((f) => f.name).join(', ')}).`);
    }
    set(name, read(field, name, text), `--target ${word}`);
  }
  return targetOfFields(fields);
}

function read(field: TargetField | undefined, name: string, text: string): unknown {
  if (field === undefined && /^\d+(,\d+)+$/.test(text)) return text.split(',').map(Number);
  try {
    return parseTargetFieldText(field, text);
  } catch (error) {
    throw new UsageError(`target field '${name}' takes ${field?.type ?? 'a value'}${field?.choices === undefined ? '' : ` (${field.choices.join(', ')})`}, and ${(error as Error).message}.`);
  }
}
