import { chmodSync, chownSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';

/** One job as an application sends it: one JSON object per line. */
const JobSchema = z.strictObject({
  /** The job's bytes, as hex: what the policy reads with `payload.u8/u16/u32/u64`. */
  payload: z.string().regex(/^([0-9a-f]{2}){0,1024}$/).default(''),
  /** The job's key hash, if the application has one (`hash` in the policy); the flow hash of the ports otherwise. */
  hash: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  srcPort: z.number().int().min(0).max(0xffff).optional(),
  dstPort: z.number().int().min(0).max(0xffff).optional(),
});
export type Job = z.infer<typeof JobSchema>;

/** What the application hears back: the queue the job went to, the default queue (PASS), a drop, or a refusal. */
export type JobAnswer = { readonly queue: number } | { readonly pass: true } | { readonly drop: true } | { readonly error: string };

/** The job socket's name in a deployment's state directory. */
export const JOB_SOCKET = 'jobs.sock';

/** Bytes of one request line past which the connection is closed (a job is at most 1 KiB of payload). */
const MAX_LINE = 4096;

/**
 * Where an application submits jobs to a deployment running in syrupd: a Unix stream socket in
 * the deployment's state directory (`jobs.sock`), owned by the tenant with mode 0600, so only
 * the deployment's owner (and root) can connect. One JSON job per line in, one JSON answer
 * per line out, in order.
 */
export class JobServer {
  readonly #server: Server;
  readonly #connections = new Set<Socket>();

  private constructor(
    readonly path: string,
    handle: (job: Job) => JobAnswer,
  ) {
    this.#server = createServer((socket) => this.#serve(socket, handle));
  }

  /**
   * Listens at `<stateDir>/jobs.sock` (a stale file from a killed daemon is replaced) and hands
   * the socket to `owner`. Binding a Unix socket is synchronous in Node, so the file exists,
   * with its owner and mode, when this returns; a later listen error closes the server.
   */
  static listen(stateDir: string, owner: { uid: number; gid: number }, handle: (job: Job) => JobAnswer): JobServer {
    const path = join(stateDir, JOB_SOCKET);
    rmSync(path, { force: true });
    const jobs = new JobServer(path, handle);
    jobs.#server.once('error', () => void jobs.close());
    jobs.#server.listen(path);
    chmodSync(path, 0o600);
    chownSync(path, owner.uid, owner.gid);
    // Idle job connections must not keep syrupd alive on its way out.
    jobs.#server.unref();
    return jobs;
  }

  /** Stops listening, drops open connections and removes the socket file; harmless twice. */
  async close(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    this.#connections.clear();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  #serve(socket: Socket, handle: (job: Job) => JobAnswer): void {
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    socket.on('error', () => socket.destroy());
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => {
      if (line.length > MAX_LINE) {
        socket.end(`${JSON.stringify({ error: `a job line is longer than ${MAX_LINE} bytes.` })}\n`);
        return;
      }
      socket.write(`${JSON.stringify(answer(line, handle))}\n`);
    });
  }
}

function answer(line: string, handle: (job: Job) => JobAnswer): JobAnswer {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { error: 'a job is one JSON object per line.' };
  }
  const parsed = JobSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `job field '${issue?.path.join('.') ?? ''}' is not valid: ${issue?.message ?? 'unknown'}.` };
  }
  return handle(parsed.data);
}
