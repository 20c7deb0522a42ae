import { request } from './api';

/** History ranges and the bucket each asks the server for: never more than ~1,500 points a range. */
export const RANGES = [
  { label: '1 h', ms: 3_600_000, bucket: '1m' },
  { label: '24 h', ms: 86_400_000, bucket: '5m' },
  { label: '7 d', ms: 7 * 86_400_000, bucket: '1h' },
  { label: '30 d', ms: 30 * 86_400_000, bucket: '1h' },
  { label: '1 y', ms: 365 * 86_400_000, bucket: '1d' },
] as const;

/** For a custom range: the smallest bucket that keeps it under 1,500 points. */
export function bucketFor(ms: number): string {
  const sizes: Array<[string, number]> = [
    ['1m', 60_000],
    ['5m', 300_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
  ];
  return (sizes.find(([, size]) => ms / size <= 1500) ?? ['7d', 0])[0];
}

export interface Buckets {
  /** Seconds since the epoch (uPlot's x unit), then min, avg and max per bucket. */
  t: number[];
  min: number[];
  avg: number[];
  max: number[];
}

export async function fetchBuckets(entityId: string, from: number, to: number, bucket: string): Promise<Buckets> {
  const { points } = await request<{ points: Array<{ t: number; min: number; avg: number; max: number }> }>(
    'GET',
    `/api/entities/${encodeURIComponent(entityId)}/history?from=${from}&to=${to}&bucket=${bucket}`,
  );
  return {
    t: points.map((p) => p.t / 1000),
    min: points.map((p) => p.min),
    avg: points.map((p) => p.avg),
    max: points.map((p) => p.max),
  };
}
