import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface EchoServer extends AsyncDisposable {
  readonly port: number;
  readonly process: ChildProcess;
}

/** Starts the echo server in its own process (the generator busy-polls this one). */
export async function startEchoServer(ignoreEvery = 0): Promise<EchoServer> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./udp-echo-server.mjs', import.meta.url)), String(ignoreEvery)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  const { port } = JSON.parse(line) as { port: number };
  return {
    port,
    process: child,
    async [Symbol.asyncDispose]() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
