/**
 * Nice axis steps and ticks. Expected values follow from the 1-2-5 rule by hand: the rough step is
 * the range over 5 intervals, raised to the next 1, 2 or 5 times a power of ten.
 */
import { describe, expect, it } from 'vitest';

import { formatFixed, linearAxis, niceStep } from '../../src/plots/nice-scale.js';

describe('niceStep', () => {
  it.each([
    [0.2, 0.2, 1],
    [0.105, 0.2, 1],
    [0.3, 0.5, 1],
    [7, 10, 0],
    [365, 500, 0],
    [1, 1, 0],
    [0.0004, 0.0005, 4],
  ])('rounds %f up to %f with %i decimals', (rough, step, decimals) => {
    expect(niceStep(rough)).toEqual({ step, decimals });
  });

  it('rejects a zero step', () => {
    expect(() => niceStep(0)).toThrow(TypeError);
  });
});

describe('linearAxis', () => {
  it('fixed probability axis', () => {
    const axis = linearAxis(0, 1, true);
    expect(axis.min).toBe(0);
    expect(axis.max).toBe(1);
    expect(axis.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(axis.decimals).toBe(1);
  });

  it('fixed axis keeps bounds between ticks', () => {
    const axis = linearAxis(0.01, 0.99, true);
    expect([axis.min, axis.max]).toEqual([0.01, 0.99]);
    expect(axis.ticks).toEqual([0.2, 0.4, 0.6, 0.8]);
  });

  it('widens a time axis in days to whole ticks', () => {
    const axis = linearAxis(0, 1825);
    expect([axis.min, axis.max, axis.step]).toEqual([0, 2000, 500]);
    expect(axis.ticks).toEqual([0, 500, 1000, 1500, 2000]);
  });

  it('widens a net-benefit axis below zero', () => {
    const axis = linearAxis(-0.105, 0.42);
    expect([axis.min, axis.max, axis.step]).toEqual([-0.2, 0.6, 0.2]);
    expect(axis.ticks).toEqual([-0.2, 0, 0.2, 0.4, 0.6]);
  });

  it('ticks carry no binary rounding noise', () => {
    const axis = linearAxis(0, 0.7);
    expect(axis.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(linearAxis(0, 0.3).ticks).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it('widens a zero-width range around its value', () => {
    const axis = linearAxis(5, 5);
    expect(axis.step).toBe(0.2);
    expect([axis.min, axis.max]).toEqual([4.4, 5.6]);
  });

  it('rejects NaN and reversed bounds', () => {
    expect(() => linearAxis(Number.NaN, 1)).toThrow(TypeError);
    expect(() => linearAxis(1, 0)).toThrow(/min ≤ max/);
  });
});

describe('formatFixed', () => {
  it('drops the sign of a rounded zero', () => {
    expect(formatFixed(-0.0001, 2)).toBe('0.00');
    expect(formatFixed(-0.1, 1)).toBe('-0.1');
    expect(formatFixed(0.8125, 3)).toBe('0.813');
  });
});
