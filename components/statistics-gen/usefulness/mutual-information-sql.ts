import type { DuckDbSession, QueryProgress } from '../../data/duckdb-session';
import { sqlIdentifier } from '../../data/sql';

export interface MutualInformationRequest {
  relationSql: string;
  label: string;
  /** SQL of the label's bin code per row (binning.ts). */
  labelCodeSql: string;
  /** SQL of each feature's bin code per row (binning.ts), in the order results come back. */
  featureCodeSql: string[];
  onProgress?: (p: QueryProgress) => void;
}

export interface FeatureInformation {
  /** I(feature; label) in bits. */
  mutualInformation: number;
  /** H(feature) in bits. */
  entropy: number;
  /** Rows per bin code (labelled rows only). */
  binCounts: Map<number, number>;
}

export interface MutualInformationResult {
  /** Rows where the label is present: every figure is over these. */
  labeled: number;
  labelEntropy: number;
  labelCounts: Map<number, number>;
  features: FeatureInformation[];
}

const JOINT_TABLE = 'usefulness_joint_counts';

/**
 * Parallel sums add in no fixed order, so their last bits vary from run to run: rounded to 12
 * decimals, equal information (a feature and its copy in other units) ranks as a tie, and a rerun
 * writes the same figures. Never below 0, which rounding of a zero sum could give.
 */
export const stable = (sum: string): string => `greatest(0, round(${sum}, 12))`;

/**
 * Mutual information of each feature with the label from one scan: DuckDB counts (label class, feature
 * bin) for every feature at once, one GROUPING SET per feature plus one of the label alone, into a
 * small table of counts; the entropies are sums over that table. Plug-in estimates in bits:
 * I = Σ p(x,y) log2(p(x,y) / (p(x) p(y))), H(X) = −Σ p(x,y) log2 p(x), H(Y) = −Σ p(y) log2 p(y).
 */
export async function mutualInformation(db: DuckDbSession, request: MutualInformationRequest): Promise<MutualInformationResult> {
  const codes = request.featureCodeSql;
  const groupingSets = ['(y)', ...codes.map((_, i) => `(y, c${i})`)].join(', ');
  // Bin codes are never NULL (binning.ts), so in each grouped row the one non-NULL code names its set.
  const featureIndex = codes.length === 0 ? '-1' : `CASE ${codes.map((_, i) => `WHEN c${i} IS NOT NULL THEN ${i}`).join(' ')} ELSE -1 END`;
  const binCode = `COALESCE(${[...codes.map((_, i) => `c${i}`), 'NULL::INTEGER'].join(', ')})`;
  const coded = [`${request.labelCodeSql} AS y`, ...codes.map((sql, i) => `${sql} AS c${i}`)].join(', ');
  await db.query(
    `CREATE OR REPLACE TEMP TABLE ${JOINT_TABLE} AS ` +
      `SELECT ${featureIndex} AS f, ${binCode} AS x, y, count(*)::DOUBLE AS n ` +
      `FROM (SELECT ${coded} FROM ${request.relationSql} WHERE ${sqlIdentifier(request.label)} IS NOT NULL) ` +
      `GROUP BY GROUPING SETS (${groupingSets})`,
    request.onProgress,
  );
  try {
    const labelRows = (await db.query(`SELECT y, n FROM ${JOINT_TABLE} WHERE f = -1`)).getRowObjectsJS();
    const labelCounts = new Map(labelRows.map((r) => [Number(r.y), Number(r.n)]));
    const labeled = [...labelCounts.values()].reduce((a, b) => a + b, 0);
    const entropies = (
      await db.query(
        `SELECT f, ${stable('sum(p * log2(p / (px * py)))')} AS mi, ${stable('-sum(p * log2(px))')} AS hx FROM (` +
          `SELECT f, n / sum(n) OVER w AS p, sum(n) OVER (PARTITION BY f, x) / sum(n) OVER w AS px, sum(n) OVER (PARTITION BY f, y) / sum(n) OVER w AS py ` +
          `FROM ${JOINT_TABLE} WHERE f >= 0 WINDOW w AS (PARTITION BY f)) GROUP BY f`,
      )
    ).getRowObjectsJS();
    const bins = (await db.query(`SELECT f, x, sum(n) AS n FROM ${JOINT_TABLE} WHERE f >= 0 GROUP BY f, x`)).getRowObjectsJS();
    const features: FeatureInformation[] = codes.map(() => ({ mutualInformation: 0, entropy: 0, binCounts: new Map() }));
    for (const r of entropies) Object.assign(features[Number(r.f)]!, { mutualInformation: Number(r.mi), entropy: Number(r.hx) });
    for (const r of bins) features[Number(r.f)]!.binCounts.set(Number(r.x), Number(r.n));
    const [labelEntropy] = (
      await db.query(`SELECT ${stable('-sum(p * log2(p))')} AS h FROM (SELECT n / sum(n) OVER () AS p FROM ${JOINT_TABLE} WHERE f = -1)`)
    ).getRowObjectsJS();
    return { labeled, labelEntropy: Number(labelEntropy?.h ?? 0), labelCounts, features };
  } finally {
    await db.query(`DROP TABLE ${JOINT_TABLE}`);
  }
}

