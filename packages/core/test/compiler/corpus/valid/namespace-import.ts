import * as syrup from '@syrup/core';

const policy = syrup.definePolicy({
  name: 'namespace-import',
  input: 'tcp',
  params: { SOCKETS: 3 },
  schedule: (conn, _maps, { SOCKETS }) => (conn.dstPort === 22 ? syrup.DROP : conn.hash % SOCKETS),
});

export default policy;
