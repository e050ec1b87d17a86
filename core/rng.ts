/**
 * Small seeded PRNG (mulberry32) so every random step of the eval (query sampling,
 * randomization tests, bootstrap) is reproducible from a seed printed in the output.
 */
export type Rng = () => number;

/** Returns a function yielding floats in [0, 1). Same seed → same sequence. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/**
 * A seeded sample of `n` items that keeps the input order (so ids and files stay stable and
 * diffable). n ≥ length returns everything.
 */
export function sampleKeepOrder<T>(items: readonly T[], n: number, seed: number): T[] {
  if (n >= items.length) return items.slice();
  const picked = new Set(
    shuffled(
      items.map((_, i) => i),
      mulberry32(seed),
    ).slice(0, Math.max(0, n)),
  );
  return items.filter((_, i) => picked.has(i));
}
