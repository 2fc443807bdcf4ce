export { runPipeline, statusQuery, nodeProgressSignal } from './pipeline';
