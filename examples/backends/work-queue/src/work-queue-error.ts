import { SyrupError } from '@syrup/core';

/** The work-queue backend's own refusals (a third-party backend's errors extend core's SyrupError with codes of its own prefix). */
export type WorkQueueErrorCode = 'WORK_QUEUE_FOREIGN_ARTIFACT';

/** The work-queue backend was given something it does not run; the message is one sentence. */
export class WorkQueueError extends SyrupError<WorkQueueErrorCode> {
  override name = 'WorkQueueError';
}
