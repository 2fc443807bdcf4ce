/**
 * A minimal Prometheus registry (text exposition format 0.0.4). Series are created once per label set
 * and kept by the caller, so the request path only adds numbers.
 */

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

interface Family {
  name: string;
  help: string;
  render(out: string[]): void;
}

export class Counter implements Family {
  private readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  labels(labels: Labels): CounterSeries {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = new CounterSeries(labels);
      this.series.set(key, s);
    }
    return s;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(s.labels)} ${formatNumber(s.value)}`);
  }
}

/** A gauge whose values are read at scrape time, so it never goes stale. */
export class CollectedGauge implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => Array<{ labels: Labels; value: number }>,
  ) {}
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    for (const s of this.collect()) out.push(`${this.name}${labelText(s.labels)} ${formatNumber(s.value)}`);
  }
}

export class Histogram implements Family {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}
  labels(labels: Labels): HistogramSeries {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = new HistogramSeries(labels, this.bounds);
      this.series.set(key, s);
    }
    return s;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out.push(`${this.name}_bucket${labelText(s.labels, ['le', formatNumber(b)])} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
  }
}

export class MetricsRegistry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, bounds));
  }
  collectedGauge(name: string, help: string, collect: () => Array<{ labels: Labels; value: number }>): CollectedGauge {
    return this.add(new CollectedGauge(name, help, collect));
  }

  render(): string {
    const out: string[] = [];
    for (const f of this.families) f.render(out);
    return out.join('\n') + '\n';
  }

  private add<F extends Family>(family: F): F {
    this.families.push(family);
    return family;
  }
}
