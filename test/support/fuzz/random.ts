/**
 * A seeded pseudo-random generator, so that a fuzzing campaign is reproduced exactly from its seed.
 *
 * The generator is mulberry32 (Tommy Ettinger, 2017): a 32-bit state advanced by the odd constant
 * 0x6D2B79F5 and mixed by two multiply-xorshift rounds. Its period is 2^32, far more than the few
 * thousand draws of one mutated input.
 */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Derives the generator of input `index` of campaign `seed`, independent of the other inputs. */
  static forInput(seed: number, index: number): Random {
    return new Random(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77));
  }

  /** Returns a uniform 32-bit unsigned integer. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Returns an integer in [0, maxExclusive); 0 when maxExclusive ≤ 0. */
  below(maxExclusive: number): number {
    if (maxExclusive <= 0) return 0;
    return Math.floor((this.uint32() / 2 ** 32) * maxExclusive);
  }

  /** Returns an integer in [min, max], both inclusive. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** Returns true with probability `p`. */
  chance(p: number): boolean {
    return this.uint32() / 2 ** 32 < p;
  }

  /** Returns a uniformly chosen element; throws on an empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.below(items.length)]!;
  }
}
