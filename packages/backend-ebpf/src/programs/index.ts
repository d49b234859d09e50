// @syrup/backend-ebpf/programs: loaded eBPF programs.
// Owns Program (BPF_PROG_LOAD with verifier-log capture, offload ifindex, pins), verifier
// errors mapped back to the policy's line, and BPF_PROG_TEST_RUN.
export { Program, type OpenProgramOptions, type ProgramLoadOptions, type ProgramOptions } from './program.js';
export type { MapReference, ProgramLoadBtf, ProgramLoadSpec, ProgramMapResolver } from './program-load-spec.js';
export { TestRunner, verdictName, type TestableProgram, type TestRunOptions, type TestRunResult, type TestRunnerOptions, type XdpContextInput } from './test-runner.js';
export { VerifierError, type VerifierErrorDetails, type VerifierLogFormat } from './verifier-error.js';
export { parseVerifierLog, type ParsedVerifierLog } from './verifier-log.js';
export { ProgramError, type ProgramErrorCode } from './program-error.js';
export { sourceFromLineInfo } from './line-info-source.js';
