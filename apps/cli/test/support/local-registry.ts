import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';

/** Whether `url` names this machine's loopback: the only place the registry test may publish to. */
export function isLoopbackUrl(url: string): boolean {
  const { hostname, protocol } = new URL(url);
  return protocol === 'http:' && (hostname === '127.0.0.1' || hostname === '[::1]' || hostname === 'localhost');
}

/**
 * A real npm registry (verdaccio, from this repository's node_modules) on 127.0.0.1 with its
 * storage under `dir`: packages of the `@syrup` and `@acme` scopes may be published by a user
 * it creates, nothing is proxied (everything else comes from the ordinary registry).
 */
export class LocalRegistry {
  readonly url: string;
  readonly #child: ChildProcess;
  #token: string | undefined;
  #log = '';

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.#child = child;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.#log += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.#log += chunk));
  }

  static async start(dir: string): Promise<LocalRegistry> {
    mkdirSync(dir, { recursive: true });
    const port = await freeTcpPort();
    const config = join(dir, 'config.yaml');
    const scope = { access: '$all', publish: '$authenticated' };
    // YAML is a superset of JSON: the config needs no YAML writer.
    writeFileSync(
      config,
      JSON.stringify({
        storage: join(dir, 'storage'),
        auth: { htpasswd: { file: join(dir, 'htpasswd') } },
        uplinks: {},
        packages: { '@syrup/*': scope, '@acme/*': scope },
        log: { type: 'stdout', format: 'pretty', level: 'warn' },
      }),
    );
    const bin = join(dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')), 'bin', 'verdaccio');
    const child = spawn(process.execPath, [bin, '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const registry = new LocalRegistry(`http://127.0.0.1:${port}/`, child);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`verdaccio exited ${child.exitCode}: ${registry.#log}`);
      const ok = await httpJson('GET', new URL('-/ping', registry.url)).then((r) => r.status === 200, () => false);
      if (ok) return registry;
      if (Date.now() > deadline) {
        await registry.close();
        throw new Error(`verdaccio did not answer at ${registry.url} within 60 s: ${registry.#log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A token of a user the registry creates on first call (verdaccio's htpasswd allows sign-up). */
  async token(): Promise<string> {
    if (this.#token !== undefined) return this.#token;
    const name = 'syrup-registry-test';
    const response = await httpJson('PUT', new URL(`-/user/org.couchdb.user:${name}`, this.url), { name, password: `pw-${process.pid}-${Date.now()}` });
    const body = response.body as { token?: string };
    if (response.status !== 201 || typeof body.token !== 'string') throw new Error(`verdaccio refused to create a user: ${response.status} ${JSON.stringify(body)}`);
    this.#token = body.token;
    return body.token;
  }

  /** An npm user config that publishes to this registry with the token: for NPM_CONFIG_USERCONFIG. */
  async writeUserConfig(file: string): Promise<string> {
    const { host } = new URL(this.url);
    writeFileSync(file, `registry=${this.url}\n//${host}/:_authToken=${await this.token()}\n`);
    return file;
  }

  /** The versions the registry holds of `name`, none when it does not know the package. */
  async versions(name: string): Promise<string[]> {
    const response = await httpJson('GET', new URL(name.replace('/', '%2f'), this.url));
    if (response.status === 404) return [];
    const body = response.body as { versions?: Record<string, unknown> };
    return Object.keys(body.versions ?? {});
  }

  get log(): string {
    return this.#log;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((done) => this.#child.once('exit', done));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/**
 * One request on its own connection (no keep-alive pool: verdaccio closes idle connections
 * while lerna runs, and a pooled fetch would then fail with "other side closed").
 */
function httpJson(method: 'GET' | 'PUT', url: URL, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, agent: false, headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON: kept as text for the caller's message.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url.href} took longer than 30 s`)));
    req.end(payload);
  });
}
