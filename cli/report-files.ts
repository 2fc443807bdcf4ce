import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PipelineStatus } from '../workflows/pipeline-types';

/**
 * The HTML reports among a run's outputs (statistics, anomalies, evaluation), as `node.output: path`
 * lines a person opens in a browser. Only local (file://) artifacts: an s3:// one is fetched with
 * `mlpipe report`, which the run report's artifact lines point at.
 */
export async function reportFiles(status: PipelineStatus): Promise<string[]> {
  const lines: string[] = [];
  for (const [id, node] of Object.entries(status.nodes)) {
    for (const [key, uris] of Object.entries(node.outputs ?? {})) {
      for (const uri of uris.filter((u) => u.startsWith('file://'))) {
        const dir = fileURLToPath(uri);
        const pages = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.html')).sort();
        lines.push(...pages.map((page) => `${id}.${key}: ${path.join(dir, page)}`));
      }
    }
  }
  return lines;
}
