// @syrup/backend-ghost: the thread hook in ghOSt's model (thread state machine, enclave, agent,
// transactions), with a simulated driver for tests and a stock-Linux driver.
export { GhostError, type GhostErrorCode } from './ghost-error.js';
export { GHOST_MESSAGE_TYPES, threadEventOf, type GhostMessage, type GhostMessageType } from './thread-message.js';
export { advanceThreadState, isRunnable, stateAfter, type ThreadState } from './thread-state.js';
export { describePlacement, type GhostTransaction, type Placement, type TransactionOutcome } from './transaction.js';
export type { GhostDriver } from './ghost-driver.js';
export { Enclave, type ManagedThread } from './enclave.js';
export { GhostAgent, type DecisionRecord, type GhostAgentOptions, type GhostAgentStats } from './ghost-agent.js';
export { SimulatedGhostDriver } from './simulated-ghost-driver.js';
export { StockLinuxDriver, type StockLinuxDriverOptions } from './linux/stock-linux-driver.js';
export { rtThrottlingReport, type RtThrottlingReport } from './linux/rt-throttling-report.js';
export { SchedCallError, SchedPolicy, SchedSyscalls, type ThreadSchedule } from './linux/sched-syscalls.js';
export { RECORD_SIZE, RECORD_TYPES, SCHED_TRACEPOINTS, schedEventProgram, type SchedTracepoint, type TaskOffsets } from './linux/sched-event-programs.js';
export { ScheduleKeeper } from './linux/schedule-keeper.js';
export { GhostBackend, GhostBackendOptions, parseCpuList, type GhostArtifact } from './ghost-backend.js';
export { ghostBackendModule, register } from './ghost-backend-module.js';
