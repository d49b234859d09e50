import { SyrupError } from '../errors/syrup-error.js';

/** A policy test's expectation did not hold (assertDecisions), or it named a map the policy lacks. */
export class PolicyTestError extends SyrupError {
  override name = 'PolicyTestError';

  constructor(message: string) {
    super('POLICY_TEST', message);
  }
}
