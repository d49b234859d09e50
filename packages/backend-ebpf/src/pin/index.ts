// @syrup/backend-ebpf/pin: objects pinned in the BPF filesystem.
// Owns mounting and recognising bpffs, pin paths, pinning and opening pins, and their mode
// and owner (the pinned-object records of deployments stay internal to the hooks).
export { BPFFS_MOUNT_POINT, DEFAULT_PIN_ROOT, ensureBpffs, isBpffs, type EnsureBpffsOptions } from './bpffs.js';
export { pinPath } from './pin-path.js';
export { openPinned, pinObject, setPinMode, setPinOwner, unpin, type OpenPinnedOptions, type PinAccess, type PinOptions } from './pin.js';
export { PinError, type PinErrorCode } from '../errors/pin-error.js';
