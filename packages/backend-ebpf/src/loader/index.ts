// @syrup/backend-ebpf/loader: a generated program spec made live.
// Owns LoadedProgram: the program of a codegen ProgramSpec with every map it names, created
// or borrowed (shared data maps, a running hook's executors), closed together.
export { LoadedProgram, loadProgramSpec, loadProgramSpecAsync, type LoadProgramSpecOptions } from './loaded-program.js';
