const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a bucket size such as `1m`, `15m`, `1h` or `1d` into milliseconds, or undefined. */
export function parseBucket(text: string): number | undefined {
  const match = /^([1-9]\d{0,4})([smhd])$/.exec(text);
  if (!match) return undefined;
  const [, count, unit] = match;
  return Number(count) * UNIT_MS[unit as keyof typeof UNIT_MS];
}
