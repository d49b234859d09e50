import type { Artifact, PolicyIr } from '@syrup/core';
import type { ProgramSpec } from '@syrup/backend-ebpf/codegen';

/** What `NfpBackend.compile` returns: the validated program for the NIC and the profile it was validated against. */
export interface NfpArtifact extends Artifact {
  readonly backend: 'nfp';
  readonly ir: PolicyIr;
  readonly spec: ProgramSpec;
  /** The firmware profile's name. */
  readonly profile: string;
}
