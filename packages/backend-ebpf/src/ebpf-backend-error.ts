import { SyrupError } from '@syrup/errors';

/**
 * Refusals of the eBPF backend's own entry points, before any hook is involved:
 * - EBPF_FOREIGN_ARTIFACT: an artifact compiled by another backend was given to attach, verify or describe;
 * - EBPF_UNKNOWN_HOOK: a hook id the eBPF backend does not provide.
 */
export type EbpfBackendErrorCode = 'EBPF_FOREIGN_ARTIFACT' | 'EBPF_UNKNOWN_HOOK';

/** The eBPF backend was asked for something it does not do; the message names the artifact's backend or the hook. */
export class EbpfBackendError extends SyrupError<EbpfBackendErrorCode> {
  override readonly name = 'EbpfBackendError';
}
