export { runCli } from './run-cli.js';
export { processIo, UsageError, type CliIo } from './cli-io.js';
