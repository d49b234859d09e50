export { MapError, type MapErrorCode } from './errors.js';
export {
  DATA_MAP_KINDS,
  DataMapSpecSchema,
  MAX_DATA_MAP_ENTRIES,
  isArrayKind,
  isPerCpuKind,
  parseDataMapSpec,
  type DataMapKind,
  type DataMapSpec,
} from './map-spec.js';
export {
  U32_MAX,
  U64_MAX,
  checkKey,
  checkValue,
  decodeU32,
  decodeU64,
  encodeU32,
  encodeU64,
  wrapU64,
} from './codecs.js';
export { DataMapProvider, type CreateDataMapOptions, type DataMapResidence, type DataMapStore, type UpdateMode } from './data-map-store.js';
export {
  InMemoryDataMapProvider,
  InMemoryDataMapStore,
  type InMemoryDataMapOptions,
} from './in-memory-data-map-store.js';
export { dataMapOf, type DataMap, type DataMapOf, type DataMapsOf, type PerCpuDataMap } from './data-map.js';
