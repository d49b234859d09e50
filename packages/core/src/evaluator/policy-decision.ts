/** What a policy decided for one input: an executor key, or the hook's default (PASS), or DROP. */
export type PolicyDecision =
  | { readonly kind: 'executor'; readonly key: bigint }
  | { readonly kind: 'pass' }
  | { readonly kind: 'drop' };

export const PASS_DECISION: PolicyDecision = Object.freeze({ kind: 'pass' });
export const DROP_DECISION: PolicyDecision = Object.freeze({ kind: 'drop' });
