import { z } from 'zod';
import type { DeployTarget } from '../backend/deploy-target.js';

/**
 * A hook's target schema: one zod object over the target's fields, flat (`port`, `interface`,
 * `netns`, `cpus`...), whichever of them travel in `DeployTarget.extra`. Schemas are loose:
 * fields they do not name pass through to the backend, which refuses what it does not take.
 */
export type TargetSchema = z.ZodObject<z.ZodRawShape>;

/** The fields `DeployTarget` carries at its top level; every other field travels in `extra`. */
export const WIRE_TARGET_FIELDS = ['port', 'protocol', 'pid', 'interface', 'queue'] as const;
const WIRE = new Set<string>(WIRE_TARGET_FIELDS);

/** What a value of a target field is, for people and for the CLI's `--target key=value`. */
export type TargetFieldType = 'integer' | 'number' | 'string' | 'boolean' | 'integer list' | 'string list' | 'value';

/** One field of a hook's target, as `syrup hooks` prints it and `syrup deploy --target` parses it. */
export interface TargetField {
  readonly name: string;
  readonly type: TargetFieldType;
  /** The accepted words, for a field that takes one of a few (`protocol`: udp, tcp). */
  readonly choices?: readonly string[];
  readonly required: boolean;
  readonly description: string;
}

/** The fields of a target schema in declaration order; schema-less hooks have none. */
export function targetFieldsOf(schema: TargetSchema | undefined): readonly TargetField[] {
  if (schema === undefined) return [];
  return Object.entries(schema.shape).map(([name, shape]) => {
    const field = shape as z.ZodType;
    const optional = field instanceof z.ZodOptional;
    const inner = optional ? (field.unwrap() as z.ZodType) : (field as z.ZodType);
    const choices = inner instanceof z.ZodEnum ? (inner.options as readonly string[]).map(String) : undefined;
    return {
      name,
      type: typeOf(inner),
      ...(choices === undefined ? {} : { choices }),
      required: !optional,
      description: field.description ?? inner.description ?? '',
    };
  });
}

function typeOf(schema: z.ZodType): TargetFieldType {
  if (schema instanceof z.ZodNumber) return schema.isInt ? 'integer' : 'number';
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return 'string';
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodArray) {
    const element = schema.element as z.ZodType;
    if (element instanceof z.ZodNumber) return 'integer list';
    if (element instanceof z.ZodString) return 'string list';
  }
  return 'value';
}

/** A target's fields in one flat record: the top-level ones and those of `extra` (a top-level field wins). */
export function flattenTarget(target: DeployTarget): Record<string, unknown> {
  const { extra, ...top } = target;
  return { ...(extra ?? {}), ...top };
}

/** The inverse of {@link flattenTarget}: the wire's own fields at the top, every other one in `extra`. */
export function targetOfFields(fields: Readonly<Record<string, unknown>>): DeployTarget {
  const top: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    (WIRE.has(name) ? top : extra)[name] = value;
  }
  return { ...top, ...(Object.keys(extra).length === 0 ? {} : { extra }) } as DeployTarget;
}

/**
 * A `key=value` word's value as the field's type reads it (lists as `0,1`); a field the hook
 * does not declare is read as an integer when it looks like one, else kept as text. Throws
 * a `TypeError` with one sentence when the text is not of the field's type.
 */
export function parseTargetFieldText(field: TargetField | undefined, text: string): unknown {
  const integer = (word: string): number => {
    if (!/^-?\d+$/.test(word.trim())) throw new TypeError(`'${word}' is not an integer`);
    return Number(word.trim());
  };
  if (field === undefined) return /^\d+$/.test(text) ? Number(text) : text;
  switch (field.type) {
    case 'integer':
      return integer(text);
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) throw new TypeError(`'${text}' is not a number`);
      return value;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new TypeError(`'${text}' is not true or false`);
      return text === 'true';
    case 'integer list':
      return text.split(',').map(integer);
    case 'string list':
      return text.split(',');
    default:
      return text;
  }
}
