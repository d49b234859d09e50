import { SyrupError } from '@syrup/errors';
import { connect, ProtocolError, type WireStatus } from '@syrup/runtime/client';

const RETRY_MS = 100;

/**
 * Waits until syrupd answers `status` on `socketPath`, retrying while nothing listens there
 * yet (a daemon just started loads for a second or two), and answers its status. Gives up
 * after `timeoutMs` with a PROTOCOL_CONNECTION error naming the wait; `stopped` ends the wait
 * early (the daemon's process exited).
 */
export async function waitForDaemon(socketPath: string, timeoutMs: number, stopped?: () => boolean): Promise<WireStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const client = await connect({ socketPath });
      try {
        return await client.status();
      } finally {
        await client.close();
      }
    } catch (error) {
      if (!(error instanceof SyrupError) || error.code !== 'PROTOCOL_CONNECTION') throw error;
      if (Date.now() >= deadline || stopped?.() === true) {
        throw new ProtocolError('PROTOCOL_CONNECTION', `syrupd did not answer at ${socketPath} within ${Math.round(timeoutMs / 1000)} s.`, { cause: error });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
