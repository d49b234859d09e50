import { LinkError } from '../../links/link-error.js';
import { attachXdp, type XdpLink } from '../../links/xdp-link.js';
import type { KernelMap } from '../../maps/kernel-map.js';
import { ProgArray } from '../../maps/system/prog-array.js';
import { Program } from '../../programs/program.js';
import { AttachType, ProgType } from '../../syscalls/bpf-constants.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { DISPATCHER_SLOTS, type AcquireDispatcherOptions, type DispatcherMode } from './dispatcher-location.js';
import { DISPATCHER_MAP_NAMES, dispatcherInstructions } from './dispatcher-program.js';
import { RouteTable } from './route-table.js';
import { XdpHookError } from './xdp-hook-error.js';

/** A dispatcher's kernel objects, attached or opened again from pins; the receiver owns them all. */
export interface DispatcherObjects {
  readonly program: Program;
  readonly routes: KernelMap;
  readonly policies: ProgArray;
  readonly link: XdpLink;
  readonly mode: DispatcherMode;
}

/**
 * Creates the routes hash and the policies program array, loads the root program over them
 * and attaches it to the interface through a bpf link, in that order. With `prefer-drv`, a
 * driver without native XDP (EOPNOTSUPP) gets generic XDP instead; any other refusal is
 * `XDP_ATTACH_FAILED` saying why. On failure nothing stays created.
 */
export function attachDispatcher(options: AcquireDispatcherOptions, where: string, sys: Syscalls): DispatcherObjects {
  using created = new DisposableStack();
  const routes = created.use(RouteTable.createMap(sys));
  const policies = created.use(ProgArray.create({ maxEntries: DISPATCHER_SLOTS, name: 'syrup_policies' }, { sys }));
  const program = created.use(
    Program.load(
      {
        name: 'syrup_dispatch',
        type: ProgType.XDP,
        // The policies it tail-calls are loaded for BPF_XDP too; a program array takes one kind.
        expectedAttachType: AttachType.XDP,
        license: 'Dual BSD/GPL',
        instructions: dispatcherInstructions(),
        maps: new Map<string, KernelMap>([
          [DISPATCHER_MAP_NAMES.routes, routes],
          [DISPATCHER_MAP_NAMES.policies, policies.kernelMap],
        ]),
      },
      { sys },
    ),
  );
  const attach = (mode: DispatcherMode): XdpLink =>
    attachXdp({ program, ifindex: options.ifindex, mode, ...(options.netns === undefined ? {} : { netns: options.netns }), sys });
  let mode: DispatcherMode = options.mode === 'prefer-drv' ? 'drv' : options.mode;
  let link: XdpLink;
  try {
    link = attach(mode);
  } catch (error) {
    if (!(options.mode === 'prefer-drv' && error instanceof LinkError && (error.cause as { code?: string } | undefined)?.code === 'EOPNOTSUPP')) {
      throw attachRefusal(error, where, mode);
    }
    mode = 'skb';
    try {
      link = attach(mode);
    } catch (again) {
      throw attachRefusal(again, where, mode);
    }
  }
  created.move();
  return { program, routes, policies, link, mode };
}

/** Closes this process's fds of the objects; what their pins hold stays attached. */
export function closeDispatcherObjects(objects: DispatcherObjects): void {
  objects.link.close();
  objects.program.close();
  objects.policies.close();
  objects.routes.close();
}

function attachRefusal(error: unknown, where: string, mode: DispatcherMode): XdpHookError {
  if (!(error instanceof LinkError)) return new XdpHookError('XDP_ATTACH_FAILED', `cannot attach the Syrup dispatcher to ${where}: ${(error as Error).message}`, { cause: error });
  const code = (error.cause as { code?: string } | undefined)?.code;
  const reason =
    code === 'EBUSY' || code === 'EEXIST'
      ? 'another XDP program is already attached to it'
      : code === 'EOPNOTSUPP'
        ? `its driver has no ${mode === 'drv' ? 'native (drv)' : 'generic (skb)'} XDP support`
        : error.message.replace(/\.$/, '');
  return new XdpHookError('XDP_ATTACH_FAILED', `cannot attach the Syrup dispatcher to ${where} in ${mode} mode: ${reason}.`, { cause: error });
}
