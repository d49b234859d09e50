import { LowLevelError, SyrupError, isRefusal } from '@syrup/errors';

// The base lives in @syrup/errors, which depends on nothing, so the packages below core
// (@syrup/maps) and the syscall layer of the eBPF backend extend the same class; core
// re-exports it, so `instanceof SyrupError` holds whichever package one imports it from.
export { LowLevelError, SyrupError, isRefusal };

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
export class DeploymentError extends SyrupError<'DEPLOY_FAILED' | 'DEPLOYMENT_STATE'> {
  override name = 'DeploymentError';
}

/** A policy helper such as `random()` was called as plain JavaScript instead of inside a compiled policy. */
export class PolicyHelperError extends SyrupError {
  override name = 'PolicyHelperError';

  constructor(helper: string) {
    super('POLICY_HELPER_OUTSIDE_POLICY', `${helper}() only has a meaning inside a compiled policy, and policy code is never run as plain JavaScript.`);
  }
}
