import type { LoadRegion, Operand, VReg } from '../ir/policy-ir.js';
import type { ModuleBinding, ModuleFunction } from './policy-module.js';

/** What an expression of policy code denotes. Only `int` values exist at run time; the rest are compile-time references. */
export type Value =
  | { readonly t: 'int'; readonly op: Operand }
  | { readonly t: 'input' }
  | { readonly t: 'bytes'; readonly region: LoadRegion }
  | { readonly t: 'maps' }
  | { readonly t: 'map'; readonly name: string }
  | { readonly t: 'params' }
  | { readonly t: 'verdict'; readonly verdict: 'pass' | 'drop' }
  | { readonly t: 'void'; readonly what: string };

/** Why a read-only name cannot be assigned; it picks the error message. */
export type Role = 'constant' | 'param' | 'loop variable' | 'argument' | 'input' | 'maps' | 'params';

export type Binding =
  | { readonly b: 'let'; readonly reg: VReg }
  | { readonly b: 'value'; readonly value: Value; readonly role: Role }
  | { readonly b: 'module'; readonly binding: ModuleBinding };

/** The names visible at a point of policy code; a lookup walks out to the module's scope. */
export class Scope {
  readonly names = new Map<string, Binding>();
  constructor(readonly parent: Scope | undefined) {}

  lookup(name: string): Binding | undefined {
    for (let scope: Scope | undefined = this; scope; scope = scope.parent) {
      const binding = scope.names.get(name);
      if (binding) return binding;
    }
    return undefined;
  }
}

/** Where `break` (and, for loops, `continue`) jumps from inside a loop or a switch. */
export interface Breakable {
  readonly kind: 'loop' | 'switch';
  readonly breakLabel: string;
  continueLabel: string;
}

/**
 * How a function body's `return` lowers: `policy` returns end the policy (schedule, and a
 * function whose call schedule returns directly); `value` returns hand an integer to the
 * caller; `statement` returns just leave the function.
 */
export interface Frame {
  readonly fn: ModuleFunction | undefined;
  readonly mode: 'policy' | 'value' | 'statement';
  readonly result: VReg | undefined;
  readonly end: string | undefined;
  readonly breakables: Breakable[];
}

/** The frame top-level constants are evaluated in: outside any function, nothing to return to. */
export const MODULE_FRAME: Frame = { fn: undefined, mode: 'statement', result: undefined, end: undefined, breakables: [] };

export const int = (op: Operand): Value => ({ t: 'int', op });

/** A value as error messages name it. */
export function describe(value: Value): string {
  switch (value.t) {
    case 'int':
      return 'an integer';
    case 'input':
      return 'the input';
    case 'bytes':
      return `the ${value.region}`;
    case 'maps':
      return 'the maps';
    case 'map':
      return `map '${value.name}'`;
    case 'params':
      return 'the params';
    case 'verdict':
      return value.verdict.toUpperCase();
    case 'void':
      return 'no value';
  }
}

/** Whether `name` is bound to the core module's namespace (`import * as syrup from '@syrup/core'`). */
export function isCoreNamespace(scope: Scope, name: string): boolean {
  const binding = scope.lookup(name);
  return binding?.b === 'module' && binding.binding.kind === 'core-namespace';
}
