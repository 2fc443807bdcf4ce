import { ExampleGen } from './example-gen/spec';
import { StatisticsGen } from './statistics-gen/spec';

export * from './example-gen/spec';
export * from './statistics-gen/spec';

/** The components every worker runs and the compiler knows without configuration: one line each. */
export const BUILTIN_COMPONENTS = [ExampleGen, StatisticsGen];
