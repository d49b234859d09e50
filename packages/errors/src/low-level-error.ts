import { SyrupError } from './syrup-error.js';

/**
 * Base of the errors of the layers under the backend contract: data maps, the bpf() syscalls,
 * kernel objects (programs, maps, links, pins), the assembler and code generation. Their
 * message speaks that layer's terms ("map 'next' is full", "BPF_OBJ_PIN failed with EEXIST"),
 * not those of the request that reached it. So where one meets a caller's request, the
 * framework reports it inside a sentence of its own that names the request (a deployment's
 * DEPLOY_FAILED naming the policy and the hook, the wire's INTERNAL, a restore's
 * RESTORE_FAILED) and keeps it as `cause`; its `code` stays for whoever catches it directly.
 *
 * Every other SyrupError is a refusal already phrased for the caller, and passes through with
 * its code: see {@link isRefusal}.
 */
export class LowLevelError<Code extends string = string> extends SyrupError<Code> {
  override name = 'LowLevelError';
}

/** True for a SyrupError that is a refusal phrased for the caller, whose code and message reach the caller unchanged; false for a {@link LowLevelError} and for anything else. */
export function isRefusal(error: unknown): error is SyrupError {
  return error instanceof SyrupError && !(error instanceof LowLevelError);
}
