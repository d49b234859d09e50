// @syrup/backend-nfp: the xdp-offload hook, policies run on a Netronome NFP SmartNIC, which
// picks each frame's RX queue. The capability model of the NFP JIT (firmware profiles, the
// instruction rule, the validator) runs anywhere; loading needs the NIC.
export { AGILIO_DEFAULT_PROFILE, describeProfile, type NfpFirmwareProfile } from './nfp-firmware-profile.js';
export { nfpInstructionRule } from './nfp-instruction-rule.js';
export { NFP_LOWERING, NFP_MAX_QUEUE, nfpOffloadTarget, nfpTestHarnessTarget, type NfpTargetOptions } from './nfp-offload-target.js';
export { UDP_PAYLOAD_MAX_START, validateForNfp, type NfpValidateOptions, type NfpValidation } from './validate-for-nfp.js';
export { formatViolation, type NfpViolation } from './nfp-violation.js';
export { NfpError, type NfpErrorCode } from './nfp-error.js';

// The plugin: the xdp-offload hook.
export { NfpBackend, type NfpBackendOptions } from './nfp-backend.js';
export { nfpBackendModule, register } from './nfp-backend-module.js';
export { NfpAttachment } from './nfp-attachment.js';
export type { NfpArtifact } from './nfp-artifact.js';
export { nfpTarget, type NfpTarget } from './nfp-target.js';
export { OFFLOAD_DRIVERS, findOffloadDevices, type OffloadDevice } from './offload-devices.js';
