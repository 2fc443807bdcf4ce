/** mlpipe's public API: what a pipeline module imports. */
export { defineComponent } from './component';
export type { ComponentSpec, ComponentFactory, InputSpec, NodeHandle, NodeOptions, OutputHandle } from './component';
export { pipeline, compilePipeline, validatePipelineSpec, PipelineCompileError } from './compile';
export type { PipelineDefinition } from './compile';
export type { PipelineSpec, NodeSpec, ResourceClass, RetryPolicy, Timeouts } from './ir';
export * from './components/example-gen';
export * from './components/statistics-gen';
export type { Executor, ExecutorContext, ExecutorResult, Progress } from '../activities/executor-api';
export { UserInputError } from '../activities/executor-api';
