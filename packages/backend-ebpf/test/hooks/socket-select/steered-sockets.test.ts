import { describe, expect, it } from 'vitest';
import type { SocketGroup } from '../../../src/hooks/socket-select/socket-group.js';
import { SteeredSockets } from '../../../src/hooks/socket-select/steered-sockets.js';

const group = (inodes: number[]): SocketGroup => ({ info: { inodes }, toString: () => `the UDP group of port 9000` }) as unknown as SocketGroup;

describe('SteeredSockets', () => {
  it('refuses a group one of whose sockets a deployment steers, naming it, until that deployment frees the group', () => {
    const steered = new SteeredSockets();
    const first = group([1, 2]);
    steered.claim(first, 'd-1');
    expect(() => steered.claim(group([2, 3]), 'd-2')).toThrow(
      expect.objectContaining({ code: 'SOCKET_SELECT_GROUP_BUSY', message: 'the UDP group of port 9000 already runs deployment d-1; replace that deployment instead of deploying a second one there.' }),
    );
    steered.free(first);
    expect(() => steered.claim(group([2, 3]), 'd-2')).not.toThrow();
  });

  it('gives the sockets back when the claim is disposed (a failed attach), and says "another deployment of this process" for an unnamed one', () => {
    const steered = new SteeredSockets();
    const claim = steered.claim(group([7]), undefined);
    expect(() => steered.claim(group([7]), 'd-2')).toThrow('the UDP group of port 9000 already runs another deployment of this process (syrupd, or the application embedding the runtime); replace that deployment instead.');
    claim[Symbol.dispose]();
    steered.claim(group([7]), 'd-2');
  });

  it('adopts a restored group without a check, and each instance (backend) keeps its own', () => {
    const steered = new SteeredSockets();
    steered.adopt(group([4]), 'd-1');
    expect(() => steered.claim(group([4]), 'd-2')).toThrow(expect.objectContaining({ code: 'SOCKET_SELECT_GROUP_BUSY' }));
    expect(() => new SteeredSockets().claim(group([4]), 'd-2')).not.toThrow();
  });
});
