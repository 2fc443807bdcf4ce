import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { ExampleGen } from '../components/example-gen/spec';
import { ExampleValidator } from '../components/example-validator/spec';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema } from '../components/example-validator/payload';
import { ANOMALIES_REPORT_FILE_NAME, renderAnomaliesReport } from '../components/reports/anomalies-report';
import { renderStatisticsReport, STATISTICS_REPORT_FILE_NAME } from '../components/reports/statistics-report';
import { SchemaGen } from '../components/schema-gen/spec';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME } from '../components/statistics-gen/payload';
import { StatisticsGen } from '../components/statistics-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { findChromium } from '../test/support/test-tools';
import { vegaFile } from '../test/components/vega-data';
import { timed } from './support/child-rss';

/**
 * Report sizes and render times for flights: flights-3m.parquet (or the 200k-row Arrow sample with
 * `--sample`, for a busy machine: delay, distance and time only, unsliced) through ExampleGen
 * (train:eval 2:1) and StatisticsGen sliced by origin (so the page holds the capped number of
 * slices), then SchemaGen and ExampleValidator with skew train → eval (every measure on its page). Per
 * report: its bytes beside statistics.json's (the payload it renders), the time to render it in
 * Node, and Chromium's time from navigation to the load event and to the first contentful paint
 * (best of 5 loads, each in a fresh page), beside the same for an empty HTML page in the same run.
 *
 *   node dist/bench/reports.js [--sample]
 */

const LOADS = 5;

interface PageTimes {
  loadMs: number;
  paintMs: number;
}

async function loadTimes(browser: Browser, file: string): Promise<PageTimes> {
  let best: PageTimes | undefined;
  for (let i = 0; i < LOADS; i++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // The first contentful paint may be recorded after the load event: wait for its entry.
    const times = (await page.evaluate(`new Promise((resolve) => {
      const nav = performance.getEntriesByType('navigation')[0];
      const done = (paintMs) => resolve({ loadMs: nav.loadEventEnd - nav.startTime, paintMs });
      new PerformanceObserver((list) => {
        const paint = list.getEntriesByName('first-contentful-paint')[0];
        if (paint) done(paint.startTime);
      }).observe({ type: 'paint', buffered: true });
      setTimeout(() => done(NaN), 5000);
    })`)) as PageTimes;
    await page.close();
    if (!best || times.loadMs < best.loadMs) best = times;
  }
  return best!;
}

async function main(): Promise<void> {
  const sample = process.argv.includes('--sample');
  const input = vegaFile(sample ? 'flights-200k.arrow' : 'flights-3m.parquet');
  const executablePath = findChromium();
  if (!executablePath) throw new Error('no chromium on PATH (bash scripts/setup-test-tools.sh installs it)');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-reports-'));
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const pipeline = await timed(async () => {
      const examples = await runExecutorForTest(ExampleGen, { parameters: { input } });
      const statistics = await runExecutorForTest(StatisticsGen, { parameters: { slices: sample ? [] : ['origin'] }, inputs: { examples: [examples.artifact('examples')] } });
      const schema = await runExecutorForTest(SchemaGen, { inputs: { statistics: [statistics.artifact('statistics')] } });
      const anomalies = await runExecutorForTest(ExampleValidator, { parameters: { skew: {} }, inputs: { statistics: [statistics.artifact('statistics')], schema: [schema.artifact('schema')] } });
      return { statistics: statistics.outputDirs.statistics!, anomalies: anomalies.outputDirs.anomalies! };
    });
    const payload = ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(pipeline.value.statistics, STATISTICS_FILE_NAME), 'utf8')));
    const anomalies = ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(pipeline.value.anomalies, ANOMALIES_FILE_NAME), 'utf8')));
    const statisticsJsonBytes = (await stat(path.join(pipeline.value.statistics, STATISTICS_FILE_NAME))).size;
    const slices = new Set(payload.splits.flatMap((s) => s.slices.map((x) => JSON.stringify(x.key)))).size;
    console.log(
      `flights (${sample ? '200k-row sample' : '3 M rows'}): ${payload.splits.map((s) => `${s.name} ${s.numExamples}`).join(', ')}; ${slices} origin slices; ` +
        `ExampleGen + StatisticsGen + SchemaGen + ExampleValidator ${pipeline.seconds.toFixed(1)} s; statistics.json ${statisticsJsonBytes} bytes`,
    );

    const blank = path.join(scratch, 'blank.html');
    await writeFile(blank, '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body><p>blank</p></body></html>\n');
    const baseline = await loadTimes(browser, blank);
    console.log(`empty page (baseline): load ${baseline.loadMs.toFixed(1)} ms, first paint ${baseline.paintMs.toFixed(1)} ms`);

    const reports = [
      { file: path.join(pipeline.value.statistics, STATISTICS_REPORT_FILE_NAME), render: () => renderStatisticsReport(payload) },
      { file: path.join(pipeline.value.anomalies, ANOMALIES_REPORT_FILE_NAME), render: () => renderAnomaliesReport(anomalies, { statistics: payload }) },
    ];
    for (const report of reports) {
      const bytes = (await stat(report.file)).size;
      let renderMs = Infinity;
      for (let i = 0; i < LOADS; i++) renderMs = Math.min(renderMs, (await timed(async () => report.render())).seconds * 1000);
      const times = await loadTimes(browser, report.file);
      console.log(
        `${path.basename(report.file)}: ${bytes} bytes (${(bytes / statisticsJsonBytes).toFixed(3)}× statistics.json), rendered in Node in ${renderMs.toFixed(2)} ms; ` +
          `Chromium load ${times.loadMs.toFixed(1)} ms (${(times.loadMs / baseline.loadMs).toFixed(1)}× the empty page), first paint ${times.paintMs.toFixed(1)} ms (${(times.paintMs / baseline.paintMs).toFixed(1)}×)`,
      );
    }
  } finally {
    await browser.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
