// The front end and evaluator these tests drive, from core's public API.
export { PolicyEvaluator, compilePolicy, verifyPolicyIr, type PolicyDecision } from '@syrup/core';
