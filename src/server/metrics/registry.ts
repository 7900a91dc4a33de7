/**
 * A minimal metrics registry written in the Prometheus text exposition format 0.0.4: counters,
 * gauges read at scrape time, and histograms with fixed buckets. The service needs only these three
 * types, without the process metrics or push gateway support of a client library, so no
 * dependency is added.
 *
 * Label values are escaped as the format requires (backslash, double quote, line feed). Callers pass
 * only values from closed sets (service ids, stage names, error codes, outcomes), never an
 * identifier, a token or free text.
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

/** Label names and values of one series, e.g. `{ stage: 'retrieve' }`. */
export type Labels = Readonly<Record<string, string>>;

/** Media type of the exposition, sent as the response's Content-Type. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A metric family that renders its `# HELP`, `# TYPE` and sample lines. */
interface MetricFamily {
  readonly name: string;
  render(): string;
}

/** Renders `{a="x",b="y"}` with escaped values, or '' without labels. */
function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return '';
  const pairs = names.map((name) => `${name}="${escapeLabelValue(labels[name] ?? '')}"`);
  return `{${pairs.join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** Formats a sample value; the format writes infinities as `+Inf` and `-Inf`. */
function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** A monotonically increasing count per label set. */
export class Counter implements MetricFamily {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Adds `amount` (default 1, never negative) to the series of `labels`. */
  inc(labels: Labels = {}, amount = 1): void {
    if (!(amount >= 0)) throw new RangeError(`counter ${this.name} cannot add ${amount}`);
    const key = formatLabels(labels);
    const entry = this.#values.get(key);
    if (entry === undefined) this.#values.set(key, { labels, value: amount });
    else entry.value += amount;
  }

  /** Returns the current value of the series of `labels`, 0 when it was never incremented. */
  get(labels: Labels = {}): number {
    return this.#values.get(formatLabels(labels))?.value ?? 0;
  }

  render(): string {
    let text = header(this.name, this.help, 'counter');
    for (const [key, entry] of this.#values) text += `${this.name}${key} ${formatValue(entry.value)}\n`;
    return text;
  }
}

/** A value read from its source at each scrape, such as the number of queued analyses. */
export class Gauge implements MetricFamily {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => readonly { readonly labels: Labels; readonly value: number }[],
  ) {}

  render(): string {
    let text = header(this.name, this.help, 'gauge');
    for (const sample of this.collect()) {
      text += `${this.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}\n`;
    }
    return text;
  }
}

/** Cumulative bucket counts, sum and count of one label set of a {@link Histogram}. */
interface HistogramSeries {
  readonly labels: Labels;
  readonly bucketCounts: Float64Array;
  sum: number;
  count: number;
}

/** Observations sorted into cumulative buckets by upper bound (`le`), as Prometheus histograms are. */
export class Histogram implements MetricFamily {
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  /** @param bounds - Upper bounds of the buckets in ascending order; `+Inf` is added. */
  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] ?? NaN) > (bounds[i - 1] ?? NaN))) {
        throw new RangeError(`histogram ${name} needs ascending bucket bounds, got ${bounds.join(', ')}`);
      }
    }
    this.#bounds = [...bounds, Infinity];
  }

  /** Records one observation of `value` in the series of `labels`. */
  observe(labels: Labels, value: number): void {
    const key = formatLabels(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels, bucketCounts: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
      this.#series.set(key, series);
    }

    for (let i = 0; i < this.#bounds.length; i++) {
      if (value <= (this.#bounds[i] ?? Infinity)) series.bucketCounts[i] = (series.bucketCounts[i] ?? 0) + 1;
    }
    series.sum += value;
    series.count += 1;
  }

  /** Returns the number of observations of the series of `labels`. */
  count(labels: Labels = {}): number {
    return this.#series.get(formatLabels(labels))?.count ?? 0;
  }

  render(): string {
    let text = header(this.name, this.help, 'histogram');
    for (const [key, series] of this.#series) {
      for (let i = 0; i < this.#bounds.length; i++) {
        const le = formatValue(this.#bounds[i] ?? Infinity);
        const labels = formatLabels({ ...series.labels, le });
        text += `${this.name}_bucket${labels} ${formatValue(series.bucketCounts[i] ?? 0)}\n`;
      }
      text += `${this.name}_sum${key} ${formatValue(series.sum)}\n`;
      text += `${this.name}_count${key} ${formatValue(series.count)}\n`;
    }
    return text;
  }
}

/** The metric families of one process, rendered together for a scrape. */
export class MetricsRegistry {
  readonly #families: MetricFamily[] = [];

  /** Adds `family` and returns it; a second family of the same name is a programming error. */
  register<T extends MetricFamily>(family: T): T {
    if (this.#families.some((existing) => existing.name === family.name)) {
      throw new TypeError(`metric ${family.name} is registered twice`);
    }
    this.#families.push(family);
    return family;
  }

  /** Renders every family in the text exposition format, each ending in a line feed. */
  render(): string {
    return this.#families.map((family) => family.render()).join('');
  }
}
