/** mlpipe's public API: what a pipeline module and a component author import. */
export { defineComponent } from './component';
export type { ComponentFactory, ComponentSpec, ExecutorRef, InputSpec, NodeHandle, NodeOptions, OutputHandle } from './component';
export { pipeline, compilePipeline, validatePipelineSpec, PipelineCompileError } from './compile';
export type { PipelineDefinition } from './compile';
export type { PipelineSpec, NodeSpec, ResourceClass, RetryPolicy, Timeouts } from './ir';
export { defineExecutor, UserInputError } from './executor';
export type { Executor, ExecutorContext, ExecutorInput, ExecutorResult, Progress } from './executor';
export type { ResolveContext, ResolvedFile, ResolvedFileSet, ResolvedInputs } from './resolve';
export * from '../components';
/** The transform DSL (`transform(({ f }) => ({ ... }))`, scaleToZScore, vocabulary, ...): what a Transform node's `transform` parameter is built with. */
export * from '../components/transform/dsl';
