import { describe, expect, it } from 'vitest';
import { parseBucket } from '../../server/src/history/bucket';

describe('parseBucket', () => {
  it.each([
    ['1m', 60_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['30s', 30_000],
  ])('%s is %i ms', (text, ms) => expect(parseBucket(text)).toBe(ms));

  it.each(['', '0m', '1w', 'h', '-1h', '1.5h', '999999h'])('refuses %j', (text) => expect(parseBucket(text)).toBeUndefined());
});
