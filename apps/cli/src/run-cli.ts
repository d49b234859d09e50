import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
// The light entries: `syrup status` and `syrup ls` must not load core's policy compiler (TypeScript).
import { isRefusal } from '@syrup/errors';
import { connect, DEFAULT_SOCKET_PATH, type ClientDeployOptions, type ClientMap, type SyrupClient, type WireBackendPackage, type WireDeploymentInfo } from '@syrup/runtime/client';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { processIo, UsageError, type CliIo } from './cli-io.js';
import { newPolicyPack } from './new-policy-pack.js';
import { runDaemon } from './run-daemon.js';
import { StageProgress } from './stage-progress.js';
import { waitForDaemon } from './wait-for-daemon.js';

/** The CLI's package directory: backend names resolve from here too, after the working directory. */
const CLI_INSTALL_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The stages of a deploy and of a replace, in order (see StageProgress). */
const DEPLOY_STAGES = ['read', 'send', 'compile', 'attach'];
const REPLACE_STAGES = ['read', 'send', 'compile', 'swap'];

/** Refusals that are the caller's to fix (exit 2); anything else is the system's (exit 1). */
const SYSTEM_CODES = new Set(['PROTOCOL_CONNECTION', 'INTERNAL', 'PEER_UNKNOWN']);

interface CommonOptions {
  json?: boolean;
  socket?: string;
}

/**
 * Runs the `syrup` command with `argv` (without node and script) and answers the exit code:
 * 0 on success, 2 for a user mistake (bad arguments, a refused request), 1 when the system
 * failed (no daemon). Errors are one sentence on stderr; never a stack trace.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('syrup')
    .description('Deploy scheduling policies with syrupd.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined })
    .showHelpAfterError(false);

  const common = (command: Command): Command =>
    command
      .option('--json', 'print machine-readable JSON')
      .addOption(new Option('--socket <path>', "syrupd's Unix socket").env('SYRUP_SOCKET'))
      .exitOverride();

  const withClient = async (options: CommonOptions, body: (client: SyrupClient) => Promise<void>): Promise<void> => {
    const client = await connect(options.socket !== undefined ? { socketPath: options.socket } : {});
    try {
      await body(client);
    } finally {
      await client.close();
    }
  };
  const print = (options: CommonOptions, json: unknown, human: string): void => {
    io.out(options.json ? JSON.stringify(json, bigintAsString) : human);
  };

  common(program.command('deploy <policy>'))
    .description('deploy a policy file or package specifier (e.g. @syrup/policies-std/sita) at a hook')
    .requiredOption('--hook <id>', 'the hook id, e.g. socket-select')
    .option('--port <n>', 'the target port', port('--port'))
    .option('--pid <n>', 'the process that owns the target sockets', integer('--pid'))
    .addOption(new Option('--protocol <p>', 'the target protocol').choices(['udp', 'tcp']))
    .option('--interface <name>', 'the network interface (XDP hooks)')
    .option('--queue <n>', 'the RX queue (XDP hooks)', integer('--queue'))
    .option('--target <key=value>', 'any target field of the hook (repeatable; lists as cpus=0,1; syrup hooks lists the fields), e.g. netns=box, xskPid=1234', collectName, [])
    .option('--param <K=V>', 'override a policy param (repeatable)', collectParam, {})
    .option('--share-map <name>', "share the policy's map <name> with your other deployments that share it, at any hook (repeatable)", collectName, [])
    .option('-q, --quiet', 'print only the deployment id (for scripts: ID=$(syrup deploy ... -q))')
    .action(async (policy: string, o: CommonOptions & { hook: string; port?: number; pid?: number; protocol?: 'udp' | 'tcp'; interface?: string; queue?: number; target: string[]; param: Record<string, bigint>; shareMap: string[]; quiet?: boolean }) => {
      const aliases = { port: o.port, pid: o.pid, protocol: o.protocol, interface: o.interface, queue: o.queue };
      // Reading a target needs core's hook specs (core's whole entry): loaded by the one command that needs it.
      const { deployTarget } = await import('./deploy-target.js');
      const options = {
        hook: o.hook,
        ...deployTarget(o.hook, aliases, o.target),
        ...(Object.keys(o.param).length > 0 ? { params: o.param } : {}),
        ...(o.shareMap.length > 0 ? { shareMaps: o.shareMap } : {}),
      } as ClientDeployOptions;
      const progress = StageProgress.forCommand(io, o, DEPLOY_STAGES);
      try {
        await withClient(o, async (client) => {
          const d = await client.deploy(policy, { ...options, ...(progress !== undefined ? { onProgress: (stage) => progress.stage(stage) } : {}) });
          progress?.stop();
          if (o.quiet === true && o.json !== true) io.out(d.id);
          else print(o, d.info(), `deployed ${d.policy} at ${d.hook} as ${d.id}`);
        });
      } finally {
        progress?.stop();
      }
    });

  common(program.command('ls'))
    .description('list deployments')
    .action(async (o: CommonOptions) => {
      await withClient(o, async (client) => {
        const list = await client.deployments();
        print(o, list, list.length === 0 ? 'no deployments' : list.map(describeDeployment).join('\n'));
      });
    });

  common(program.command('replace <id> <policy>'))
    .description('hot-swap a deployment to another policy (maps with the same name and shape keep their contents)')
    .option('--param <K=V>', 'override a policy param (repeatable)', collectParam, {})
    .action(async (id: string, policy: string, o: CommonOptions & { param: Record<string, bigint> }) => {
      const progress = StageProgress.forCommand(io, o, REPLACE_STAGES);
      try {
        await withClient(o, async (client) => {
          const d = await client.deployment(id);
          await d.replace(policy, {
            ...(Object.keys(o.param).length > 0 ? { params: o.param } : {}),
            ...(progress !== undefined ? { onProgress: (stage: string) => progress.stage(stage) } : {}),
          });
          progress?.stop();
          print(o, d.info(), `replaced ${id} with ${d.policy}`);
        });
      } finally {
        progress?.stop();
      }
    });

  common(program.command('undeploy <id>'))
    .description('remove a deployment; default scheduling resumes')
    .action(async (id: string, o: CommonOptions) => {
      await withClient(o, async (client) => {
        await (await client.deployment(id)).undeploy();
        print(o, { undeployed: id }, `undeployed ${id}`);
      });
    });

  const map = program.command('map').description("read and write a deployment's maps").exitOverride();
  common(map.command('get <id> <map> <key>'))
    .description('read one value')
    .action(async (id: string, name: string, key: string, o: CommonOptions) => {
      const k = mapKey(key);
      await withClient(o, async (client) => {
        const value = await mapOf(await client.deployment(id), name).get(k);
        print(o, { key: k, value }, valueText(value));
      });
    });
  common(map.command('set <id> <map> <key> <value>'))
    .description('write one value (a u64, or comma-separated values for a per-CPU map)')
    .action(async (id: string, name: string, key: string, value: string, o: CommonOptions) => {
      const k = mapKey(key);
      const v = value.includes(',') ? value.split(',').map((part) => u64(part)) : u64(value);
      await withClient(o, async (client) => {
        await mapOf(await client.deployment(id), name).set(k, v);
        print(o, { key: k, value: v }, 'ok');
      });
    });
  common(map.command('dump <id> <map>'))
    .description('print every entry')
    .action(async (id: string, name: string, o: CommonOptions) => {
      await withClient(o, async (client) => {
        const entries = await mapOf(await client.deployment(id), name).dump();
        print(o, entries.map(([key, value]) => ({ key, value })), entries.map(([key, value]) => `${key} ${valueText(value)}`).join('\n'));
      });
    });

  common(program.command('disasm <policy>'))
    .description('print the eBPF instructions syrupd generates for a policy at a hook, with their source lines (nothing is deployed); two or more --hook list the programs side by side')
    .option('--hook <id>', 'the hook id (repeatable; default socket-select)', collectName, [])
    .option('--port <n>', 'the target port, for hooks whose code filters on it (XDP)', port('--port'))
    .option('--param <K=V>', 'override a policy param (repeatable)', collectParam, {})
    .action(async (policy: string, o: CommonOptions & { hook: string[]; port?: number; param: Record<string, bigint> }) => {
      const hooks = o.hook.length > 0 ? o.hook : ['socket-select'];
      await withClient(o, async (client) => {
        const listings: string[][] = [];
        for (const hook of hooks) {
          listings.push(
            await client.disasm(policy, {
              hook: hook as ClientDeployOptions['hook'],
              ...(Object.keys(o.param).length > 0 ? { params: o.param } : {}),
              ...(o.port !== undefined ? { target: { port: o.port } } : {}),
            }),
          );
        }
        if (hooks.length === 1) print(o, listings[0], listings[0]!.join('\n'));
        else print(o, Object.fromEntries(hooks.map((hook, i) => [hook, listings[i]])), sideBySide(hooks, listings));
      });
    });

  program
    .command('check <policy>')
    .description('check, without syrupd and without root, whether a policy file or package specifier can run at a hook: prints each violation as file:line:column: reason and exits 2 when it cannot run there')
    .requiredOption('--hook <id>', 'the hook id, e.g. xdp-offload')
    .option('--backend <package>', 'a backend package to load, by name or directory (repeatable); by default every installed one', collectName, [])
    .option('--param <K=V>', 'override a policy param (repeatable)', collectParam, {})
    .option('--port <n>', 'the target port, for hooks whose code filters on it (XDP)', port('--port'))
    .option('--interface <name>', 'the network interface (XDP hooks)')
    .option('--queue <n>', 'the first RX queue (XDP hooks)', integer('--queue'))
    .option('--json', 'print {ok, violations: [{file, line, column, reason}]}')
    .exitOverride()
    .action(async (policy: string, o: { hook: string; backend: string[]; param: Record<string, bigint>; port?: number; interface?: string; queue?: number; json?: boolean }) => {
      const target = { ...(o.port !== undefined ? { port: o.port } : {}), ...(o.interface !== undefined ? { interface: o.interface } : {}), ...(o.queue !== undefined ? { queue: o.queue } : {}) };
      // Loaded on use: it brings the backends and the compiler, which status and ls must not load.
      const { checkPolicy } = await import('./check-policy.js');
      const result = await checkPolicy(policy, {
        hook: o.hook,
        backends: o.backend,
        ...(Object.keys(o.param).length > 0 ? { params: o.param } : {}),
        ...(Object.keys(target).length > 0 ? { target } : {}),
        cwd: process.cwd(),
        installDir: CLI_INSTALL_DIR,
      });
      // The file as the user named it, when it was a path.
      const shown = (file: string): string => (/[\\/]/.test(policy) && policy.endsWith(file) ? policy : file);
      const violations = result.violations.map((v) => ({ ...v, file: shown(v.file) }));
      if (o.json) {
        io.out(JSON.stringify({ ok: result.ok, violations }));
      } else {
        const lines = violations.map((v) => `${v.file}:${v.line}:${v.column}: ${v.reason}`);
        const verdict = result.ok ? `ok: the policy can run at ${o.hook}${result.backend === undefined ? '' : ` (backend ${result.backend})`}.` : `the policy cannot run at ${o.hook}.`;
        io.out([...lines, ...result.notes, verdict].join('\n'));
      }
      exitCode = result.ok ? 0 : 2;
    });

  common(program.command('status'))
    .description("syrupd's status and hooks")
    .option('--wait <seconds>', 'wait up to this long for syrupd to answer (just started, still loading)', integer('--wait'))
    .action(async (o: CommonOptions & { wait?: number }) => {
      if (o.wait !== undefined) {
        const progress = StageProgress.forCommand(io, o, ['wait']);
        progress?.stage('wait');
        try {
          await waitForDaemon(socketOf(o), o.wait * 1000);
        } finally {
          progress?.stop();
        }
      }
      await withClient(o, async (client) => {
        const status = await client.status();
        const hooks = await client.hooks();
        print(
          o,
          { ...status, hooks },
          [
            `syrupd pid ${status.pid}, protocol v${status.version}, up ${Math.round(status.uptimeMs / 1000)} s, ${status.deployments} deployment(s)`,
            ...hooks.map((h) => `  ${h.hook} (${h.backend}): ${h.available ? 'available' : `unavailable: ${h.reason ?? ''}`}`),
            ...(status.backends === undefined ? [] : ['backends:', ...status.backends.map(describeBackendPackage)]),
          ].join('\n'),
        );
      });
    });

  common(program.command('hooks'))
    .description('list every hook: the standard ones and those of the loaded backends, with layer, backend, availability and target fields')
    .action(async (o: CommonOptions) => {
      await withClient(o, async (client) => {
        const [hooks, status] = await Promise.all([client.hooks(), client.status()]);
        const rows = hooks.map((h) => ({
          hook: h.hook,
          layer: h.layer ?? '',
          backend: h.backend,
          available: h.available,
          reason: h.reason ?? null,
          targetFields: h.targetFields ?? [],
        }));
        // Packages that did not load declare no hook syrupd knows of; the human listing says so after the hooks.
        const notLoaded = (status.backends ?? []).filter((b) => b.state !== 'loaded');
        print(o, rows, [...rows.map(describeHook), ...notLoaded.map((b) => `not loaded: ${describeBackendPackage(b).trim()}`)].join('\n'));
      });
    });

  common(program.command('daemon'))
    .description("run syrupd in the foreground; syrupd's own options (--state-file, --max-deployments, ...) pass through")
    .option('--pin-root <path>', 'bpffs directory for pins')
    .option('--backend <name-or-path>', "a backend package to load, by name or directory path (repeatable; default: the project's own that are installed)", collectName, [])
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (o: CommonOptions & { pinRoot?: string; backend: string[] }, command: Command) => {
      const args = [
        ...(o.socket !== undefined ? ['--socket', o.socket] : []),
        ...(o.pinRoot !== undefined ? ['--pin-root', o.pinRoot] : []),
        ...o.backend.flatMap((b) => ['--backend', b]),
        ...command.args,
      ];
      exitCode = await runDaemon(args, socketOf(o), StageProgress.forCommand(io, o, ['start', 'listen']));
    });

  const create = program.command('new').description('start a new project from a template').exitOverride();
  create
    .command('policy-pack <dir>')
    .description('write a policy pack with one policy, its unit tests (no root) and a kernel test into <dir> (see docs/writing-a-policy-pack.md)')
    .option('--name <package>', "the package name (default: the directory's name)")
    .option('--policy <name>', "the policy's name, its file and export subpath", 'round-robin')
    .exitOverride()
    .action((dir: string, o: { name?: string; policy: string }) => {
      const files = newPolicyPack(dir, process.cwd(), cliVersion(), { ...(o.name !== undefined ? { name: o.name } : {}), policy: o.policy });
      io.out([`wrote ${files.length} files:`, ...files.map((f) => `  ${f}`), `next: cd ${dir} && npm install && npm test`].join('\n'));
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error, io);
  }
}

/** This CLI's version (its package.json is one level above src/ and dist/): the Syrup a new pack depends on. */
function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The socket the command talks to: --socket (or $SYRUP_SOCKET, through commander), then the default. */
function socketOf(options: CommonOptions): string {
  return options.socket ?? DEFAULT_SOCKET_PATH;
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
    // Commander says "option '--port <n>' argument 'x' is invalid. <our reason>": keep one sentence.
    const message = error.code === 'commander.invalidArgument' ? error.message.replace(/^.*? is invalid\. /, '') : error.message.replace(/^error: /, '');
    io.err(`syrup: ${sentence(message)}`);
    return 2;
  }
  if (error instanceof UsageError) {
    io.err(`syrup: ${sentence(error.message)}`);
    return 2;
  }
  if (isRefusal(error)) {
    io.err(`syrup: ${sentence(error.message)}`);
    return SYSTEM_CODES.has(error.code) ? 1 : 2;
  }
  io.err(`syrup: ${sentence(error instanceof Error ? error.message : String(error))}`);
  return 1;
}

/** First line only, ending with a full stop. */
function sentence(message: string): string {
  const first = (message.split('\n')[0] ?? '').trim();
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

function integer(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a non-negative integer, not '${value}'`);
    return Number(value);
  };
}

/** A UDP/TCP port: said in the CLI's words, not the daemon's validator's. */
function port(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65_535) throw new InvalidArgumentError(`${flag} takes a port number from 1 to 65535, not '${value}'`);
    return Number(value);
  };
}

function collectName(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function collectParam(value: string, previous: Record<string, bigint>): Record<string, bigint> {
  const match = /^([A-Za-z_$][\w$]*)=(\d+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError(`--param takes NAME=VALUE with an unsigned integer value, not '${value}'`);
  return { ...previous, [match[1] as string]: BigInt(match[2] as string) };
}

function mapKey(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffff_ffff) throw new UsageError(`a map key is a u32, not '${text}'.`);
  return Number(text);
}

function u64(text: string): bigint {
  if (!/^\d+$/.test(text.trim()) || BigInt(text.trim()) > 0xffff_ffff_ffff_ffffn) throw new UsageError(`a map value is a u64, not '${text}'.`);
  return BigInt(text.trim());
}

function mapOf(deployment: { id: string; maps: Readonly<Record<string, ClientMap>> }, name: string): ClientMap {
  const found = Object.hasOwn(deployment.maps, name) ? deployment.maps[name] : undefined;
  if (found === undefined) {
    const names = Object.keys(deployment.maps);
    throw new UsageError(`deployment '${deployment.id}' has no map '${name}'${names.length > 0 ? ` (it has ${names.join(', ')})` : ''}.`);
  }
  return found;
}

function valueText(value: bigint | readonly bigint[]): string {
  return typeof value === 'bigint' ? value.toString() : value.join(',');
}

function describeDeployment(d: WireDeploymentInfo): string {
  const target = Object.entries(d.target)
    .filter(([k]) => k !== 'extra')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  const shared = d.sharedMaps === undefined || d.sharedMaps.length === 0 ? '' : `  shares ${d.sharedMaps.join(', ')}`;
  return `${d.id}  ${d.policy}  ${d.hook}  ${d.state}  ${target}  uid ${d.owner}${shared}`;
}

function describeHook(h: { hook: string; layer: string; backend: string; available: boolean; reason: string | null; targetFields: readonly string[] }): string {
  const fields = h.targetFields.length > 0 ? `  target: ${h.targetFields.join(', ')}` : '';
  return `${h.hook}  ${h.layer}  ${h.backend}  ${h.available ? 'available' : `unavailable: ${h.reason ?? ''}`}${fields}`;
}

/** Listings in columns, each headed by its hook, padded to the longest line of the columns before. */
function sideBySide(hooks: readonly string[], listings: readonly (readonly string[])[]): string {
  const widths = listings.map((lines, i) => Math.max(hooks[i]!.length, ...lines.map((line) => line.length)) + 2);
  const rows = Math.max(...listings.map((lines) => lines.length));
  const row = (cells: readonly string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('').trimEnd();
  return [row(hooks), ...Array.from({ length: rows }, (_, r) => row(listings.map((lines) => lines[r] ?? '')))].join('\n');
}

function describeBackendPackage(b: WireBackendPackage): string {
  const what = b.state === 'loaded' ? `loaded${b.backends !== undefined && b.backends.length > 0 ? ` (${b.backends.join(', ')})` : ''}` : `${b.state}: ${b.reason ?? ''}`;
  return `  ${b.package}: ${what}`;
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
