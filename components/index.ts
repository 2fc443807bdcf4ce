/*
 * The built-in components: every worker runs them and the compiler knows them without
 * configuration. One line each; the registry takes every component a line exports.
 */
export * from './example-gen/spec';
export * from './statistics-gen/spec';
export * from './example-validator/spec';
export * from './schema-gen/spec';
export * from './import-schema-gen/spec';
export * from './transform/spec';
export * from './trainer/spec';
export * from './evaluator/spec';
export * from './infra-validator/spec';
export * from './pusher/spec';
