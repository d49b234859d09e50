import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * Runs a full collection and lets FinalizationRegistry callbacks run (they are queued as
 * tasks after the collection). Tests that check leak reports or unmapping need this.
 */
export async function collectGarbage(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    collect();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
