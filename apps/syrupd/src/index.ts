export { DEFAULT_PIN_ROOT, startSyrupd, type Syrupd, type SyrupdOptions } from './syrupd.js';
export { parseSyrupdArgs, type SyrupdArgs } from './syrupd-args.js';
export { SoPeerCredCredentials } from './so-peercred-credentials.js';
