/**
 * Base of every error the framework raises on purpose. `code` is stable across releases and
 * safe to branch on; `message` is one sentence that says what and where; `cause` keeps the
 * underlying error (an errno, a zod issue, a backend's failure).
 */
export class SyrupError extends Error {
  override name = 'SyrupError';
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A policy declaration that `definePolicy` or the deploy path cannot accept. */
export class PolicyDefinitionError extends SyrupError {
  override name = 'PolicyDefinitionError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('POLICY_INVALID', message, options);
  }
}

/** No registered backend declares the requested hook. */
export class NoBackendError extends SyrupError {
  override name = 'NoBackendError';
  readonly hook: string;

  /** `known`: the hooks the registered backends do provide, listed so the caller can pick one. */
  constructor(hook: string, known: readonly string[] = []) {
    super('NO_BACKEND', `no backend provides hook '${hook}' (${known.length > 0 ? `the hooks there are: ${known.join(', ')}` : 'no backend is loaded'})`);
    this.hook = hook;
  }
}

/** A backend declares the hook but its probe says this machine cannot run it. */
export class HookUnavailableError extends SyrupError {
  override name = 'HookUnavailableError';
  readonly hook: string;
  readonly reason: string;

  constructor(hook: string, backend: string, reason: string, options?: { cause?: unknown }) {
    super('HOOK_UNAVAILABLE', `hook '${hook}' of backend '${backend}' is unavailable: ${reason}`, options);
    this.hook = hook;
    this.reason = reason;
  }
}

/** A deployment step failed, or an operation was asked of a deployment in the wrong state. */
export class DeploymentError extends SyrupError {
  override name = 'DeploymentError';

  constructor(code: 'DEPLOY_FAILED' | 'DEPLOYMENT_STATE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A policy helper such as `random()` was called as plain JavaScript instead of inside a compiled policy. */
export class PolicyHelperError extends SyrupError {
  override name = 'PolicyHelperError';

  constructor(helper: string) {
    super('POLICY_HELPER_OUTSIDE_POLICY', `${helper}() only has a meaning inside a compiled policy, and policy code is never run as plain JavaScript.`);
  }
}
