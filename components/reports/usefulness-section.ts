import type { Flag as UsefulnessFlag, SplitUsefulness, Usefulness } from '../statistics-gen/usefulness/payload';
import { featureAnchor, type Flag } from './feature-tables';
import { esc, formatNumber } from './format';
import { pendingSection } from './page';

/**
 * usefulness.json as a section of a report: per split, the features ranked by how much they tell
 * about the label (a bar of Theil's U with the chance level marked), each flag with its reason, and
 * the numeric features' correlations as a heat map.
 */

const FLAG_NAMES: Record<UsefulnessFlag['kind'], string> = {
  constant: 'constant',
  nearConstant: 'near-constant',
  mostlyMissing: 'mostly missing',
  nearDuplicate: 'near-duplicate',
  idLike: 'id-like',
};

function flagName(flag: UsefulnessFlag): string {
  return flag.kind === 'nearDuplicate' ? `near-duplicate of ${flag.of}` : FLAG_NAMES[flag.kind];
}

/** The flags of the first split's features, for the statistics tables: a useless feature stands out there too. */
export function usefulnessFlags(usefulness: Usefulness | undefined): Map<string, Flag[]> {
  const flags = new Map<string, Flag[]>();
  for (const f of usefulness?.splits[0]?.features ?? []) {
    if (f.flags.length > 0) flags.set(f.name, f.flags.map((flag) => ({ text: flagName(flag), level: 'warn' })));
  }
  return flags;
}

const BAR_WIDTH = 140;

function uBar(u: number | null, chance: number | null, entropy: number): string {
  if (u === null) return '';
  const chanceU = chance !== null && entropy > 0 ? Math.min(1, chance / entropy) : null;
  const marker = chanceU === null ? '' : `<line x1="${(chanceU * BAR_WIDTH).toFixed(1)}" x2="${(chanceU * BAR_WIDTH).toFixed(1)}" y1="0" y2="12" stroke="#c62828"><title>chance level: ${(100 * chanceU).toFixed(1)}%</title></line>`;
  return `<svg class="chart u-bar" width="${BAR_WIDTH}" height="12" viewBox="0 0 ${BAR_WIDTH} 12"><rect x="0" y="2" width="${BAR_WIDTH}" height="8" fill="#eef1f4"/><rect x="0" y="2" width="${(u * BAR_WIDTH).toFixed(1)}" height="8" fill="#1f77b4"/>${marker}</svg>`;
}

function splitTable(split: SplitUsefulness, linked: ReadonlySet<string>): string {
  const rows = split.features
    .map((f) => {
      const name = linked.has(f.name) ? `<a href="#${featureAnchor(f.name)}">${esc(f.name)}</a>` : esc(f.name);
      const flags = f.flags.map((flag) => `<div><span class="flag warn">${esc(flagName(flag))}</span> <span class="note">${esc(flag.reason)}</span></div>`).join('');
      const bins = f.binning ? `${f.binning.bins.length} ${f.binning.method === 'quantiles' ? 'quantile bins' : 'value bins'}` : '';
      return (
        `<tr class="usefulness-row${f.flags.length > 0 ? ' flagged' : ''}" data-feature="${esc(f.name)}">` +
        `<td class="num">${f.rank ?? '–'}</td><td>${name}<div class="note">${esc(f.type)}</div></td>` +
        `<td class="num">${f.mutualInformation === null ? '–' : formatNumber(Number(f.mutualInformation.toPrecision(3)))}</td>` +
        `<td class="num">${f.uncertaintyCoefficient === null ? '–' : `${(100 * f.uncertaintyCoefficient).toFixed(1)}%`}</td>` +
        `<td>${uBar(f.uncertaintyCoefficient, f.chanceLevel, split.label.entropy)}</td>` +
        `<td class="num">${f.chanceLevel === null ? '–' : formatNumber(Number(f.chanceLevel.toPrecision(2)))}</td>` +
        `<td class="note">${esc(bins)}</td><td>${f.notRanked ? `<div class="note">${esc(f.notRanked)}</div>` : ''}${flags}</td></tr>`
      );
    })
    .join('');
  return (
    `<table class="list usefulness" data-split="${esc(split.name)}"><thead><tr><th class="num">rank</th><th>feature</th><th class="num">MI (bits)</th><th class="num">Theil's U</th><th>share of the label's entropy (<span style="color:#c62828">|</span> chance)</th><th class="num">chance (bits)</th><th>binning</th><th>flags</th></tr></thead>` +
    `<tbody>${rows}</tbody></table>`
  );
}

const CELL = 22;
const HEAT_LABELS = 120;

/** Pearson's r as a diverging blue (−1) – white (0) – red (+1) fill. */
function heat(r: number | null): string {
  if (r === null) return '#f0f0f0';
  const t = Math.min(1, Math.abs(r));
  const [R, G, B] = r >= 0 ? [214, 39, 40] : [31, 119, 180];
  const mix = (c: number) => Math.round(255 + (c - 255) * t);
  return `rgb(${mix(R)},${mix(G)},${mix(B)})`;
}

function correlationSvg(split: SplitUsefulness): string {
  const { features, pearson, rows } = split.correlation;
  if (features.length < 2) return '';
  const size = HEAT_LABELS + features.length * CELL;
  const label = (s: string) => esc(s.length > 18 ? `${s.slice(0, 17)}…` : s);
  const cells = features
    .flatMap((a, i) =>
      features.map((b, j) => {
        const r = pearson[i]![j] ?? null;
        const tip = `${a} × ${b}: r = ${r === null ? 'undefined' : r.toFixed(3)} over ${formatNumber(rows[i]![j]!)} rows`;
        return `<rect x="${HEAT_LABELS + j * CELL}" y="${i * CELL}" width="${CELL - 1}" height="${CELL - 1}" fill="${heat(r)}"><title>${esc(tip)}</title></rect>`;
      }),
    )
    .join('');
  const rowLabels = features.map((f, i) => `<text class="label" x="${HEAT_LABELS - 4}" y="${i * CELL + CELL / 2 + 3}" text-anchor="end">${label(f)}<title>${esc(f)}</title></text>`).join('');
  const colLabels = features
    .map((f, j) => `<text class="label" transform="translate(${HEAT_LABELS + j * CELL + CELL / 2 + 3},${features.length * CELL + 4}) rotate(60)">${label(f)}<title>${esc(f)}</title></text>`)
    .join('');
  const height = features.length * CELL + HEAT_LABELS;
  return `<svg class="chart correlation" data-split="${esc(split.name)}" width="${size}" height="${height}" viewBox="0 0 ${size} ${height}" role="img" aria-label="Pearson correlations of the numeric features in ${esc(split.name)}">${cells}${rowLabels}${colLabels}</svg>`;
}

/** The section: a ranking per split (the first open), then the correlations of the first split. */
export function usefulnessSection(usefulness: Usefulness | undefined, linked: ReadonlySet<string> = new Set()): string {
  const head = '<h2 id="usefulness">Feature usefulness</h2>';
  if (!usefulness) {
    return `${head}${pendingSection("No <code>usefulness.json</code> in the statistics: StatisticsGen computes it when its <code>label</code> parameter names the label (mutual information with it, correlations, and flags for constant, mostly-missing, duplicate and id-like features).")}`;
  }
  const intro = `<p>How much each feature tells about the label <b>${esc(usefulness.label)}</b>: mutual information in bits and as a share of the label's entropy (Theil's U); the red mark is what an unrelated feature with as many bins would show on as many rows. <span class="note">${esc(usefulness.conventions.numericBinning)}</span></p>`;
  const splits = usefulness.splits
    .map(
      (s, i) =>
        `<details class="usefulness-split" data-split="${esc(s.name)}"${i === 0 ? ' open' : ''}><summary>${esc(s.name)} <span class="muted">(${formatNumber(s.label.labeled)} labelled rows, H(label) = ${formatNumber(Number(s.label.entropy.toPrecision(3)))} bits)</span></summary>${splitTable(s, linked)}</details>`,
    )
    .join('');
  const first = usefulness.splits[0];
  const correlation = first && first.correlation.features.length >= 2 ? `<h3>Correlations of the numeric features in ${esc(first.name)} <span class="count">(Pearson, pairwise complete: red +1, white 0, blue −1; hover a cell)</span></h3>${correlationSvg(first)}` : '';
  return head + intro + splits + correlation;
}
