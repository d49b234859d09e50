import type { DependencyContainer } from 'tsyringe';

/**
 * What a backend package exports: importing it has no side effects; users opt in by calling
 * `register(container)`.
 */
export interface BackendModule {
  readonly name: string;
  register(container: DependencyContainer): void;
}
