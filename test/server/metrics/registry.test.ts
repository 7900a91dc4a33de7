import { describe, expect, test } from 'vitest';

import { Counter, Gauge, Histogram, MetricsRegistry } from '../../../src/server/metrics/registry.js';

describe('Counter', () => {
  test('renders one line per label set', () => {
    const counter = new Counter('nqo1_failures_total', 'Failures.');
    counter.inc({ operation: 'analysis', code: 'ERR_SEGMENTATION_MISSING' });
    counter.inc({ code: 'ERR_SEGMENTATION_MISSING', operation: 'analysis' }, 2);
    counter.inc({ operation: 'write-back', code: 'ERR_FHIR_FAILED' });

    expect(counter.render()).toBe(
      '# HELP nqo1_failures_total Failures.\n' +
        '# TYPE nqo1_failures_total counter\n' +
        'nqo1_failures_total{code="ERR_SEGMENTATION_MISSING",operation="analysis"} 3\n' +
        'nqo1_failures_total{code="ERR_FHIR_FAILED",operation="write-back"} 1\n',
    );
  });

  test('rejects a negative increment', () => {
    const counter = new Counter('c_total', 'C.');
    expect(() => {
      counter.inc({}, -1);
    }).toThrow(RangeError);
  });

  test('escapes label values', () => {
    const counter = new Counter('c_total', 'C.');
    counter.inc({ value: 'a"b\\c\nd' });
    expect(counter.render()).toContain('c_total{value="a\\"b\\\\c\\nd"} 1\n');
  });
});

describe('Histogram', () => {
  test('counts cumulative buckets, sum and count', () => {
    const histogram = new Histogram('h_seconds', 'H.', [0.1, 1]);
    histogram.observe({ service: 'nqo1-risk' }, 0.05);
    histogram.observe({ service: 'nqo1-risk' }, 0.5);
    histogram.observe({ service: 'nqo1-risk' }, 3);

    expect(histogram.render()).toBe(
      '# HELP h_seconds H.\n' +
        '# TYPE h_seconds histogram\n' +
        'h_seconds_bucket{le="0.1",service="nqo1-risk"} 1\n' +
        'h_seconds_bucket{le="1",service="nqo1-risk"} 2\n' +
        'h_seconds_bucket{le="+Inf",service="nqo1-risk"} 3\n' +
        'h_seconds_sum{service="nqo1-risk"} 3.55\n' +
        'h_seconds_count{service="nqo1-risk"} 3\n',
    );
  });

  test('rejects bounds out of order', () => {
    expect(() => new Histogram('h', 'H.', [1, 0.5])).toThrow(/ascending/);
  });
});

describe('MetricsRegistry', () => {
  test('renders families in registration order', () => {
    const registry = new MetricsRegistry();
    registry.register(new Gauge('g', 'G.', () => [{ labels: { status: 'pending' }, value: 4 }]));
    registry.register(new Counter('c_total', 'C.')).inc();

    expect(registry.render()).toBe(
      '# HELP g G.\n# TYPE g gauge\ng{status="pending"} 4\n' +
        '# HELP c_total C.\n# TYPE c_total counter\nc_total 1\n',
    );
  });

  test('rejects a name registered twice', () => {
    const registry = new MetricsRegistry();
    registry.register(new Counter('c_total', 'C.'));
    expect(() => registry.register(new Counter('c_total', 'C.'))).toThrow(/twice/);
  });
});
