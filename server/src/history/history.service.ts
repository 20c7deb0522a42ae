import { Injectable } from '@nestjs/common';
import { DeviceService } from '../devices/device.service';
import { HOUR_MS, HistoryRepository } from './history.repository';
import type { BucketAggregate, BucketPoint, RawPoint } from './history.types';

export interface HistoryQuery {
  from: number;
  to: number;
  bucketMs?: number;
  limit: number;
}

export type HistoryResult =
  | { entityId: string; from: number; to: number; bucketMs: null; points: RawPoint[]; truncated: boolean }
  | { entityId: string; from: number; to: number; bucketMs: number; points: BucketPoint[] };

function merge(parts: BucketAggregate[][]): BucketPoint[] {
  const byStart = new Map<number, BucketAggregate>();
  for (const part of parts) {
    for (const b of part) {
      const acc = byStart.get(b.t);
      if (acc) {
        acc.min = Math.min(acc.min, b.min);
        acc.max = Math.max(acc.max, b.max);
        acc.sum += b.sum;
        acc.count += b.count;
      } else {
        byStart.set(b.t, { ...b });
      }
    }
  }
  return [...byStart.values()].sort((a, b) => a.t - b.t).map(({ t, min, max, sum, count }) => ({ t, min, max, avg: sum / count, count }));
}

@Injectable()
export class HistoryService {
  constructor(
    private readonly repository: HistoryRepository,
    private readonly devices: DeviceService,
  ) {}

  async query(entityId: string, { from, to, bucketMs, limit }: HistoryQuery): Promise<HistoryResult> {
    const { ref } = this.devices.getEntity(entityId);
    if (bucketMs === undefined) {
      const rows = await this.repository.raw(ref, from, to, limit + 1);
      const points = rows.slice(0, limit).map(({ ts, value, text }) => ({ t: ts, value: text ?? value }));
      return { entityId, from, to, bucketMs: null, points, truncated: rows.length > limit };
    }
    if (bucketMs % HOUR_MS !== 0) {
      return { entityId, from, to, bucketMs, points: merge([await this.repository.bucketsFromReadings(ref, from, to, bucketMs)]) };
    }
    // Whole hours come from the rollups; the ragged ends of the range from raw rows.
    const firstFullHour = Math.ceil(from / HOUR_MS) * HOUR_MS;
    const lastFullHour = Math.max(firstFullHour, Math.floor(to / HOUR_MS) * HOUR_MS);
    const parts = await Promise.all([
      this.repository.bucketsFromReadings(ref, from, Math.min(firstFullHour, to), bucketMs),
      this.repository.bucketsFromRollups(ref, firstFullHour, lastFullHour, bucketMs),
      this.repository.bucketsFromReadings(ref, Math.max(lastFullHour, from), to, bucketMs),
    ]);
    return { entityId, from, to, bucketMs, points: merge(parts) };
  }
}
