import type { DeployTarget } from '../backend/backend.js';
import type { HookSpec } from './hook-spec.js';
import { TargetError } from './target-error.js';
import { flattenTarget, targetFieldsOf, targetOfFields } from './target-fields.js';

/**
 * Checks a target against its hook's schema and answers it in wire form (the wire's fields at
 * the top, the others in `extra`, wherever the caller put them). Fields the schema does not
 * name pass through for the backend to judge. Refuses with a {@link TargetError} naming the
 * first field that does not fit. A hook without a schema takes the target as given.
 */
export function parseTarget(hook: HookSpec, target: DeployTarget): DeployTarget {
  if (hook.target === undefined) return target;
  const parsed = hook.target.safeParse(flattenTarget(target));
  if (parsed.success) return targetOfFields(parsed.data);
  const issue = parsed.error.issues[0];
  const name = String(issue?.path[0] ?? '');
  const field = targetFieldsOf(hook.target).find((f) => f.name === name);
  if (field === undefined) throw new TargetError(`the target of hook '${hook.id}' is not valid: ${issue?.message ?? 'it does not fit the hook'}.`);
  const expected = field.choices === undefined ? `${article(field.type)} ${field.type}` : `one of ${field.choices.join(', ')}`;
  const value = flattenTarget(target)[name];
  throw new TargetError(
    value === undefined
      ? `hook '${hook.id}' needs target field '${name}' (${expected}: ${field.description}).`
      : `target field '${name}' of hook '${hook.id}' must be ${expected} (${field.description}), not ${JSON.stringify(value) ?? String(value)}.`,
  );
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? 'an' : 'a';
}
