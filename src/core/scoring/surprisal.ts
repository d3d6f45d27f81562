// Surprisal bands for highlighting (how many bits a token cost the model), and how numbers about tokens read.
// Pure: the host maps bands to theme colours.

export interface SurprisalBand {
  /** Inclusive lower bound, in bits. */
  minBits: number;
  /** Exclusive upper bound, in bits (Infinity for the last band). */
  maxBits: number;
}

/**
 * Band 0 (under 2 bits: the model gave the token more than a 1-in-4 chance) is not coloured; each band after
 * it is a token the model found harder to predict. 13 bits is a uniform guess over 8192 tokens.
 */
export const SURPRISAL_BANDS: readonly SurprisalBand[] = [
  { minBits: 0, maxBits: 2 },
  { minBits: 2, maxBits: 4 },
  { minBits: 4, maxBits: 7 },
  { minBits: 7, maxBits: 10 },
  { minBits: 10, maxBits: Infinity },
];

/** The band of a surprisal; -1 when there is none (the first token of a text: nothing to predict it from). */
export function bandOf(bits: number | undefined): number {
  if (bits === undefined || !Number.isFinite(bits)) return bits === Infinity ? SURPRISAL_BANDS.length - 1 : -1;
  for (let i = SURPRISAL_BANDS.length - 1; i >= 0; i--) if (bits >= SURPRISAL_BANDS[i].minBits) return i;
  return 0;
}

/** The probability that `bits` of surprisal stand for: 2^-bits. */
export function probOfBits(bits: number): number {
  return Math.pow(2, -bits);
}

/** A probability as a percentage that stays readable when tiny: "45.1 %", "0.52 %", "0.0031 %", "2.1e-7 %". */
export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return '–';
  const pct = p * 100;
  if (pct >= 99.95 && pct < 100) return '99.9 %';
  if (pct >= 10) return `${pct.toFixed(1)} %`;
  if (pct >= 1) return `${pct.toFixed(2)} %`;
  if (pct === 0) return '0 %';
  return `${pct >= 1e-4 ? Number(pct.toPrecision(2)).toString() : pct.toExponential(1)} %`;
}

export function formatBits(bits: number): string {
  return `${bits.toFixed(bits >= 100 ? 0 : 2)} bits`;
}
