/**
 * Normal and chi-square functions against R 4.2.2 (`pnorm`, `qnorm`, `pchisq`, `lgamma`), printed
 * with options(digits = 17). Tolerance: 1e-12 relative, well inside the 1e-8 the statistics need.
 */
import { describe, expect, it } from 'vitest';

import {
  chiSquareSurvival,
  logGamma,
  normalCdf,
  normalQuantile,
  normalTwoSidedP,
} from '../../src/stats/distributions.js';

function expectRelative(actual: number, expected: number, tolerance = 1e-12): void {
  expect(Math.abs(actual - expected) / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThan(
    tolerance,
  );
}

describe('distributions against R', () => {
  it('pnorm', () => {
    expectRelative(normalCdf(-1.5), 6.6807201268858071e-2);
    expectRelative(normalCdf(0.3), 6.1791142218895267e-1);
    expectRelative(normalCdf(-8), 6.2209605742717849e-16);
    expectRelative(1 - normalCdf(3), 1.3498980316300946e-3, 1e-11);
    expectRelative(normalTwoSidedP(3) / 2, 1.3498980316300946e-3);
  });

  it('qnorm', () => {
    expectRelative(normalQuantile(0.975), 1.9599639845400536);
    expectRelative(normalQuantile(0.001), -3.0902323061678132);
    expectRelative(normalQuantile(0.6), 2.5334710313579978e-1);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });

  it('pchisq upper tail', () => {
    expectRelative(chiSquareSurvival(3.84, 1), 5.0043521248705224e-2);
    expectRelative(chiSquareSurvival(12.3, 8), 1.3831215638282779e-1);
    expectRelative(chiSquareSurvival(0.5, 3), 9.1889141165467592e-1);
    expectRelative(chiSquareSurvival(60, 2), 9.3576229688401748e-14);
    expect(chiSquareSurvival(0, 4)).toBe(1);
  });

  it('lgamma', () => {
    expectRelative(logGamma(4.5), 2.4537365708424423);
    expectRelative(logGamma(0.1), 2.252712651734206);
  });
});
