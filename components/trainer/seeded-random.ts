/**
 * Randomness that depends only on (seed, stream): the per-epoch shuffle of the training data and
 * whatever tfjs draws without a seed of its own while the user's code trains.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's small fast counter, as PractRand tests it), its state
 * set from (seed, stream) by splitmix32 and warmed up by discarding 12 outputs, as its author does.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** The stream of epoch e's shuffle. */
export function shuffleStream(epoch: number): number {
  return 2 * epoch;
}

/** The stream `Math.random` follows during epoch e. */
export function epochRandomStream(epoch: number): number {
  return 2 * epoch + 1;
}

/** The stream `Math.random` follows before the first epoch (building the model, initializing weights). */
export const INIT_STREAM = 0xffffffff;

/** A generator of uint32 values for (seed, stream): the same pair gives the same sequence on every machine. */
export function seededUint32(seed: number, stream: number): () => number {
  const mix = splitmix32(Math.imul(seed >>> 0, 0x27d4eb2f) ^ splitmix32(stream >>> 0)());
  let a = mix();
  let b = mix();
  let c = mix();
  let d = 1;
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** A uniform integer in [0, n), n <= 2^32, without modulo bias (values past the last whole multiple of n are drawn again). */
function below(next: () => number, n: number): number {
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const x = next();
    if (x < limit) return x % n;
  }
}

/** In place Fisher–Yates shuffle of `values` with the generator `next`. */
export function shuffleInPlace(values: Uint32Array, next: () => number): Uint32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = below(next, i + 1);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}

/** 0, 1, ..., n - 1 in an order drawn by `next`. */
export function permutation(n: number, next: () => number): Uint32Array {
  const values = new Uint32Array(n);
  for (let i = 0; i < n; i++) values[i] = i;
  return shuffleInPlace(values, next);
}

/**
 * tfjs draws from `Math.random` wherever a seed is not given (weight initializers, Dropout, `fit`'s
 * shuffle), so a run is reproducible, and a resumed run trains an epoch exactly as an uninterrupted one
 * did, only if `Math.random` restarts from (seed, epoch) at every epoch. The trainer runs in a process
 * of its own (a process executor), so replacing it there touches nothing else; `restore` puts it back.
 */
export class SeededMathRandom {
  private readonly original = Math.random;

  constructor(private readonly seed: number) {}

  /** From now on, `Math.random` is the sequence of (seed, stream). */
  reseed(stream: number): void {
    const next = seededUint32(this.seed, stream);
    Math.random = () => next() / 2 ** 32;
  }

  restore(): void {
    Math.random = this.original;
  }
}
