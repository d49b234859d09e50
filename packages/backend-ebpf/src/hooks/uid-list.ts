/** `uid 1001`, or `uids 1001 and 1002`: who bound some sockets, for a refusal. */
export function uidList(sockets: readonly { readonly uid: number }[]): string {
  const uids = [...new Set(sockets.map((s) => s.uid))].sort((a, b) => a - b);
  return uids.length === 1 ? `uid ${uids[0]}` : `uids ${uids.slice(0, -1).join(', ')} and ${uids.at(-1)}`;
}
