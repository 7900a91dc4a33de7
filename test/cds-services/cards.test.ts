import { describe, expect, test } from 'vitest';

import { formatFeatureValue } from '../../cds-services/nqo1-risk/cards.js';

describe('formatFeatureValue', () => {
  test.each([
    [307_000_000, '3.07 × 10⁸'],
    [3.2e9, '3.2 × 10⁹'],
    [-123_456, '-1.235 × 10⁵'],
    [100_000, '1 × 10⁵'],
    [99_999, '99999'],
    [1520.5, '1521'],
    [0.61, '0.61'],
    [0.0042, '0.0042'],
    [0.001, '0.001'],
    [0.00011, '1.1 × 10⁻⁴'],
    [0, '0'],
  ])('formats %d as %s', (value, expected) => {
    expect(formatFeatureValue(value)).toBe(expected);
  });
});
