import { esc } from './format';

/**
 * The shell every report shares: one self-contained HTML file (inline CSS, no script, no external
 * resource), so it opens from an artifact directory, a mail attachment or an S3 download alike, and
 * shows the same offline as on.
 */

const CSS = `
:root { --fg:#1d2329; --muted:#5f6b76; --line:#dde2e7; --bg-alt:#f6f8fa; --error:#c62828; --error-bg:#fdecea; --warn:#a65f00; --warn-bg:#fff4e0; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
header.report-head { padding: 16px 24px 12px; border-bottom: 1px solid var(--line); background: var(--bg-alt); }
header.report-head h1 { margin: 0 0 4px; font-size: 20px; }
header.report-head .sub { color: var(--muted); }
main { padding: 8px 24px 40px; }
h2 { font-size: 16px; margin: 24px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
h3 .count, .muted { color: var(--muted); font-weight: normal; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; background: #fff; }
.card .big { font-size: 18px; font-weight: 600; }
.card .swatch { margin-right: 6px; }
table { border-collapse: collapse; }
table.features, table.list { width: 100%; }
table.features th, table.features td, table.list th, table.list td { padding: 3px 8px; text-align: left; vertical-align: top; }
table.features thead th, table.list thead th { font-weight: 600; color: var(--muted); border-bottom: 2px solid var(--line); white-space: nowrap; position: sticky; top: 0; background: #fff; z-index: 1; }
table.features tbody.feature { border-bottom: 1px solid var(--line); }
table.features tbody.feature:nth-of-type(even) { background: #fbfcfd; }
table.features tbody.flagged-warn th.feature-name { box-shadow: inset 3px 0 0 var(--warn); }
table.features tbody.flagged-error th.feature-name { box-shadow: inset 3px 0 0 var(--error); }
table.list tbody tr { border-bottom: 1px solid var(--line); }
th.feature-name { width: 210px; min-width: 160px; font-weight: normal; }
th.feature-name .name { display: block; font-weight: 600; word-break: break-word; }
th.feature-name .type { display: block; color: var(--muted); font-size: 11px; }
.num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.high { color: var(--error); font-weight: 600; }
td.value { max-width: 160px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.absent { color: var(--muted); font-style: italic; }
td.split { white-space: nowrap; }
table.anomalies td:nth-child(2), table.comparisons td:first-child { min-width: 150px; }
td.chart-cell { width: 252px; padding-top: 6px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.flag { display: inline-block; margin: 2px 4px 0 0; padding: 0 5px; border-radius: 3px; font-size: 11px; }
.flag.warn { color: var(--warn); background: var(--warn-bg); }
.flag.error { color: var(--error); background: var(--error-bg); }
.sev { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11px; font-weight: 600; }
.sev.ERROR { color: #fff; background: var(--error); }
.sev.WARNING { color: #fff; background: #c77700; }
.ok { color: var(--ok); font-weight: 600; }
.approx { cursor: help; border-bottom: 1px dotted var(--muted); }
.note { color: var(--muted); font-size: 11px; }
svg.chart { display: block; overflow: visible; }
svg.chart text { font-size: 10px; fill: var(--muted); }
svg.chart text.label { fill: var(--fg); }
svg.chart line.axis { stroke: #b8c0c8; }
.pending { border: 1px dashed #b8c0c8; border-radius: 6px; padding: 10px 14px; color: var(--muted); background: var(--bg-alt); }
details.slice, details.usefulness-split { margin: 8px 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px; }
details.slice > summary, details.usefulness-split > summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
ul.glance { margin: 6px 0; padding-left: 18px; }
ul.glance li { margin: 2px 0; }
a { color: #0b62c4; text-decoration: none; }
a:hover { text-decoration: underline; }
.toolbar { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; margin: 10px 0 2px; }
.toolbar label { cursor: pointer; }
#view-standard, #view-quantiles { position: absolute; opacity: 0; pointer-events: none; }
.toolbar .seg { display: inline-flex; border: 1px solid var(--line); border-radius: 5px; overflow: hidden; }
.toolbar .seg label { padding: 2px 10px; }
#view-standard:checked ~ main label[for=view-standard], #view-quantiles:checked ~ main label[for=view-quantiles] { background: #1f77b4; color: #fff; }
#view-standard:focus-visible ~ main .seg, #view-quantiles:focus-visible ~ main .seg { outline: 2px solid #1f77b4; }
#view-standard:checked ~ main .view-quantiles, #view-quantiles:checked ~ main .view-standard { display: none; }
`;

/** The STANDARD/QUANTILES switch: radios before <main>, so CSS alone shows one view or the other. */
const VIEW_RADIOS = '<input type="radio" name="view" id="view-standard" checked><input type="radio" name="view" id="view-quantiles">';

export const VIEW_TOGGLE =
  '<span class="seg" role="group" aria-label="numeric charts"><label for="view-standard">histograms</label><label for="view-quantiles">quantiles</label></span>';

/** `css`: what one report alone needs, after the shared rules. */
export function reportPage(opts: { title: string; subtitle: string; body: string; css?: string }): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(opts.title)}</title><style>${CSS}${opts.css ?? ''}</style></head><body>` +
    `${VIEW_RADIOS}<header class="report-head"><h1>${esc(opts.title)}</h1><div class="sub">${opts.subtitle}</div></header>` +
    `<main>${opts.body}</main></body></html>\n`
  );
}

/** A section whose content another part of the pipeline has not produced (yet): said so, not left out. */
export function pendingSection(text: string): string {
  return `<div class="pending">${text}</div>`;
}
