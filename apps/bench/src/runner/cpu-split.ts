/**
 * The load generator busy-polls the CPU it is pinned to, so by default the server gets every
 * other CPU: sharing a CPU with a spinning process would add scheduler delays to the server's
 * latency. With a single CPU they share it.
 */
export function defaultCpus(cpus: number, loadgenCpu?: number): { loadgenCpu: number; serverCpus: string | undefined } {
  const loadgen = loadgenCpu ?? cpus - 1;
  if (cpus < 2) return { loadgenCpu: loadgen, serverCpus: undefined };
  const others = Array.from({ length: cpus }, (_, i) => i).filter((i) => i !== loadgen);
  return { loadgenCpu: loadgen, serverCpus: others.join(',') };
}
