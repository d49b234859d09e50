import type { HookSpec } from './hook-spec.js';
import { targetFieldsOf } from './target-fields.js';

/**
 * The names of the target fields a hook takes, for listings (`syrup hooks`), from the target
 * schema its spec declares (`targetFieldsOf` has each field's type and description); none
 * for a hook that declares no schema (its backend validates whatever it is given).
 */
export function hookTargetFields(spec: HookSpec): readonly string[] {
  return spec.target === undefined ? [] : targetFieldsOf(spec.target).map((field) => field.name);
}
