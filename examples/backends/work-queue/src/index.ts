import { Backend, type BackendModule } from '@syrup/core';
import type { DependencyContainer } from 'tsyringe';
import { WorkQueueBackend } from './work-queue-backend.js';

export { WorkQueueBackend } from './work-queue-backend.js';
export { WorkQueueError, type WorkQueueErrorCode } from './work-queue-error.js';
export { WorkQueueAttachment, type WorkQueueArtifact } from './work-queue-attachment.js';
export { WORK_QUEUE_HOOK, workQueueTarget, type WorkQueueTarget } from './work-queue-hook.js';
export { JOB_SOCKET, type Job, type JobAnswer } from './job-server.js';
export { QUEUE_STATE_FILE, type QueueCounts } from './queue-state.js';

/** The plugin entry: `syrupd --backend @acme/backend-work-queue` (or a path to this package) calls it. */
export function register(container: DependencyContainer): void {
  container.register(Backend, { useValue: new WorkQueueBackend() });
}

export const workQueueBackendModule: BackendModule = { name: 'work-queue', register };
