import type { Command } from 'commander';
import { z } from 'zod';
import { openMetadataStore, type MetadataStore, type RunDetail } from '../../artifacts/metadata/metadata-store';
import { formatRun, formatRunsTable } from '../../artifacts/metadata/runs-format';
import { formatLineage } from '../../artifacts/metadata/lineage-format';
import { resolveConfig } from '../../config/config';
import { cliConfig, CliError, parseFlags } from '../cli-context';
import { formatApprovalLines, runApprovals, withoutApprovalProperties } from '../run-approvals';

export async function withMetadata<T>(fn: (m: MetadataStore) => Promise<T>): Promise<T> {
  const metadata = await openMetadataStore(resolveConfig(cliConfig()).metadataUrl);
  try {
    return await fn(metadata);
  } finally {
    await metadata.close();
  }
}

/** A run by its run id (Temporal's) or its workflow id, as `mlpipe run` prints either. */
export async function findRun(m: MetadataStore, id: string): Promise<RunDetail> {
  const detail = await m.getRun(id);
  if (detail) return detail;
  const byWorkflow = (await m.listRuns({ limit: 10_000 })).find((r) => r.properties.workflowId === id);
  const found = byWorkflow ? await m.getRun(byWorkflow.runId) : null;
  if (!found) throw new CliError(`no run '${id}' in the metadata store (try \`mlpipe runs list\`)`);
  return found;
}

const print = (json: boolean, value: unknown, text: () => string) =>
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : text()}\n`);

export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('past and current pipeline runs, from the metadata store');
  runs
    .command('list')
    .description('list runs, newest first')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'print JSON')
    .action(async (raw: unknown) => {
      const flags = parseFlags(z.object({ pipeline: z.string().optional(), limit: z.coerce.number().int().positive(), json: z.boolean().default(false) }), raw);
      await withMetadata(async (m) => {
        const list = await m.listRuns({ pipeline: flags.pipeline, limit: flags.limit });
        print(flags.json, list, () => formatRunsTable(list));
      });
    });
  runs
    .command('show')
    .description('one run: its nodes, states, workers, outputs, and approvals (who decided and why)')
    .argument('<id>', 'run id (Temporal run id) or workflow id')
    .option('--json', 'print JSON')
    .action(async (id: string, raw: unknown) => {
      const flags = parseFlags(z.object({ json: z.boolean().default(false) }), raw);
      await withMetadata(async (m) => {
        const found = await findRun(m, id);
        const approvals = runApprovals(found);
        const json = Object.keys(approvals).length > 0 ? { ...withoutApprovalProperties(found), approvals } : found;
        print(flags.json, json, () => [formatRun(withoutApprovalProperties(found)), ...formatApprovalLines(found)].join('\n'));
      });
    });
}

export function registerLineageCommand(program: Command): void {
  program
    .command('lineage')
    .description('what produced an artifact and everything it fed, up and down')
    .argument('<artifact>', 'artifact id or URI')
    .option('--depth <n>', 'execution hops to follow')
    .option('--direction <dir>', 'up, down or both', 'both')
    .option('--json', 'print JSON')
    .action(async (artifact: string, raw: unknown) => {
      const flags = parseFlags(
        z.object({ depth: z.coerce.number().int().positive().optional(), direction: z.enum(['up', 'down', 'both']), json: z.boolean().default(false) }),
        raw,
      );
      await withMetadata(async (m) => {
        const key = /^\d+$/.test(artifact) ? Number(artifact) : artifact;
        const found = await m.getArtifact(key);
        if (!found) throw new CliError(`no artifact '${artifact}' in the metadata store`);
        const graph = await m.lineage(found.id, { depth: flags.depth, direction: flags.direction });
        print(flags.json, graph, () => formatLineage(graph, found.id));
      });
    });
}
