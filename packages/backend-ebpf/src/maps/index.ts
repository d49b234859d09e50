// @syrup/backend-ebpf/maps: kernel maps.
// Owns KernelMap (bytes in, bytes out), the policy data maps behind @syrup/maps' DataMapStore
// (KernelDataMapStore, its provider), and the system maps hooks use (program, socket, XSK, CPU arrays, ring buffers).
export { KernelMap, type CreateKernelMapOptions, type KernelMapOptions, type OpenKernelMapOptions } from './kernel-map.js';
export { dataMapKindOf, kernelSpecOfDataMap, type DataMapKernelOptions, type KernelMapSpec } from './kernel-map-spec.js';
export { KernelDataMapStore, type KernelDataMapStoreOptions, type OpenKernelDataMapOptions } from './kernel-data-map-store.js';
export { KernelDataMapProvider, type KernelDataMapProviderOptions } from './kernel-data-map-provider.js';
export { MapMemory } from './map-memory.js';
export { KernelMapError, type KernelMapErrorCode } from '../errors/kernel-map-error.js';

// System maps: the backends' own machinery, never seen by policy code.
export { SystemMap, type SystemMapCreateOptions, type SystemMapOptions } from './system/system-map.js';
export { ProgArray } from './system/prog-array.js';
export { ReuseportSockArray } from './system/reuseport-sock-array.js';
export { XskMap } from './system/xsk-map.js';
export { CPU_MAP_MAX_QUEUE_SIZE, CpuMap, type CpuMapEntry, type CpuMapValue } from './system/cpu-map.js';
export { RingBuffer, type RingBufferCreateOptions, type RingBufferRecordHandler, type RingBufferSubscription } from './system/ring-buffer.js';
export { SystemMapError, type SystemMapErrorCode } from './system/system-map-error.js';

// The readiness poller lives on ./readiness; kept here for the importers it had while it sat among the system maps.
export { READINESS_THREAD_NAME, ReadinessPoller, type ReadinessWatch } from '../readiness/index.js';
