import { SyrupError } from '../errors/syrup-error.js';

/** The evaluator was given something it cannot run: a bad input value, mismatched maps, a CPU out of range. */
export class PolicyEvaluationError extends SyrupError {
  override name = 'PolicyEvaluationError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('POLICY_EVALUATION', message, options);
  }
}
