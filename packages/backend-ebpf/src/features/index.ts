// @syrup/backend-ebpf/features: what this machine's kernel offers.
// Owns the capability probe (bpf(), program and map types, XDP modes, AF_XDP...) and the
// environment it reads, so hooks report why they are unavailable.
export { FEATURE_NAMES, probeFeature, probeFeatures, type FeatureName, type FeatureReport, type FeatureStatus, type ProbeOptions } from './probe-features.js';
export { SYSTEM_PROBE_ENVIRONMENT, type ProbeEnvironment } from './probe-environment.js';
