import type { RunDetail } from '../artifacts/metadata/metadata-store';
import type { ArtifactStore } from '../artifacts/store';
import path from 'node:path';

/** An HTML report one of a run's nodes wrote into an output artifact (statistics.html, anomalies.html, ...). */
export interface RunReport {
  node: string;
  output: string;
  /** The file's name in the artifact. */
  file: string;
  uri: string;
  /** A local file a browser opens: in the store's directory (file://), or downloaded to the cache (s3://). */
  path: string;
}

/** Reports sit at the top of an artifact, so a browser finds nothing else it would need beside them. */
const isReport = (file: string) => file.endsWith('.html') && !file.includes('/');

/**
 * Every report of the run's committed outputs, in the order the nodes started. An artifact outside
 * this store (a run recorded against another artifact root) is an error naming both.
 */
export async function runReports(detail: RunDetail, store: ArtifactStore, onMissingRoot: (uri: string) => Error): Promise<RunReport[]> {
  const reports: RunReport[] = [];
  for (const execution of detail.executions) {
    for (const [output, artifacts] of Object.entries(execution.outputs)) {
      for (const artifact of artifacts) {
        if (artifact.state !== 'live') continue;
        try {
          store.keyFor(artifact.uri);
        } catch {
          throw onMissingRoot(artifact.uri);
        }
        const manifest = await store.readManifest(artifact.uri);
        const files = (manifest?.files ?? []).map((f) => f.path).filter(isReport).sort();
        if (files.length === 0) continue;
        const dir = await store.materialize(artifact.uri);
        for (const file of files) reports.push({ node: execution.nodeId, output, file, uri: artifact.uri, path: path.join(dir, file) });
      }
    }
  }
  return reports;
}
