import { MapError, parseDataMapSpec, type DataMapSpec } from '@syrup/maps';
import { PolicyDefinitionError } from '../errors/syrup-error.js';
import { INPUT_KINDS, type InputKind, type InputOf } from './inputs.js';
import type { PolicyMapsOf, PolicyParams } from './policy-maps.js';
import type { Verdict } from './verdict.js';

const U64_MAX = (1n << 64n) - 1n;
const POLICY_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `__proto__` is an identifier, but as a key of a plain object it would set the prototype. */
function isPlainName(name: string): boolean {
  return IDENTIFIER.test(name) && name !== '__proto__';
}

/** The pure data of a policy: what a backend needs besides the compiled code. */
export interface PolicyManifest<
  I extends InputKind = InputKind,
  M extends Record<string, DataMapSpec> = Record<string, DataMapSpec>,
  P extends PolicyParams = PolicyParams,
> {
  readonly name: string;
  readonly input: I;
  readonly maps: Readonly<M>;
  readonly params: Readonly<P>;
}

/** The matching function: one input in, one executor key (or PASS/DROP) out. */
export type ScheduleFn<I extends InputKind, M extends Record<string, DataMapSpec>, P extends PolicyParams> = (
  input: InputOf<I>,
  maps: PolicyMapsOf<M>,
  params: P,
) => Verdict;

/** What a policy module's `definePolicy` call declares. */
export interface PolicyDeclaration<I extends InputKind, M extends Record<string, DataMapSpec>, P extends PolicyParams> {
  readonly name: string;
  readonly input: I;
  readonly maps?: M;
  readonly params?: P;
  readonly schedule: ScheduleFn<I, M, P>;
}

/**
 * A validated policy. The `schedule` function is kept for typing and for the compiler to find;
 * it is never called as JavaScript.
 */
export interface PolicyDefinition<
  I extends InputKind = InputKind,
  M extends Record<string, DataMapSpec> = Record<string, DataMapSpec>,
  P extends PolicyParams = PolicyParams,
> extends PolicyManifest<I, M, P> {
  readonly schedule: ScheduleFn<I, M, P>;
}

/**
 * Declares a policy. Validates its name, input kind, map declarations and params and returns
 * a frozen definition; a bad declaration throws {@link PolicyDefinitionError}.
 */
export function definePolicy<
  I extends InputKind,
  const M extends Record<string, DataMapSpec> = Record<never, DataMapSpec>,
  const P extends PolicyParams = Record<never, number>,
>(declaration: PolicyDeclaration<I, M, P>): PolicyDefinition<I, M, P> {
  const manifest = parsePolicyManifest(declaration);
  if (typeof declaration.schedule !== 'function') {
    throw new PolicyDefinitionError(`policy '${manifest.name}' has no schedule function.`);
  }
  return Object.freeze({ ...manifest, schedule: declaration.schedule }) as PolicyDefinition<I, M, P>;
}

/** Validates an untrusted manifest (from a policy module or the wire) and returns a frozen copy. */
export function parsePolicyManifest(input: {
  readonly name?: unknown;
  readonly input?: unknown;
  readonly maps?: unknown;
  readonly params?: unknown;
}): PolicyManifest {
  const name = input.name;
  if (typeof name !== 'string' || !POLICY_NAME.test(name)) {
    throw new PolicyDefinitionError(
      `policy name ${JSON.stringify(name)} must be lowercase letters, digits and dashes, starting with a letter, at most 63 characters.`,
    );
  }
  const kind = input.input;
  if (typeof kind !== 'string' || !(INPUT_KINDS as readonly string[]).includes(kind)) {
    throw new PolicyDefinitionError(`policy '${name}' has input ${JSON.stringify(kind)}, which is not one of ${INPUT_KINDS.join(', ')}.`);
  }
  return Object.freeze({
    name,
    input: kind as InputKind,
    maps: Object.freeze(parseMaps(name, input.maps ?? {})),
    params: Object.freeze(parseParams(name, input.params ?? {})),
  });
}

function parseMaps(policy: string, maps: unknown): Record<string, DataMapSpec> {
  if (typeof maps !== 'object' || maps === null || Array.isArray(maps)) {
    throw new PolicyDefinitionError(`policy '${policy}' maps must be an object of map declarations.`);
  }
  const parsed: Record<string, DataMapSpec> = {};
  for (const [mapName, spec] of Object.entries(maps)) {
    if (!isPlainName(mapName)) {
      throw new PolicyDefinitionError(`policy '${policy}' map name ${JSON.stringify(mapName)} is not an identifier.`);
    }
    try {
      parsed[mapName] = parseDataMapSpec(spec, `policy '${policy}' map '${mapName}'`);
    } catch (error) {
      if (error instanceof MapError) throw new PolicyDefinitionError(error.message, { cause: error });
      throw error;
    }
  }
  return parsed;
}

function parseParams(policy: string, params: unknown): PolicyParams {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new PolicyDefinitionError(`policy '${policy}' params must be an object of integer constants.`);
  }
  const parsed: Record<string, number | bigint> = {};
  for (const [paramName, value] of Object.entries(params)) {
    if (!isPlainName(paramName)) {
      throw new PolicyDefinitionError(`policy '${policy}' param name ${JSON.stringify(paramName)} is not an identifier.`);
    }
    const isU64 =
      (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
      (typeof value === 'bigint' && value >= 0n && value <= U64_MAX);
    if (!isU64) {
      throw new PolicyDefinitionError(`policy '${policy}' param '${paramName}' is ${String(value)}, not an unsigned 64-bit integer.`);
    }
    parsed[paramName] = value as number | bigint;
  }
  return parsed;
}
