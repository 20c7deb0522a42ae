import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';
import type { BucketAggregate, HistoryBatch, ReadingRow } from './history.types';

export const HOUR_MS = 3_600_000;
/** 4 parameters a row; stays far below SQLite's 32,766-parameter limit. */
const INSERT_CHUNK = 1000;

interface Aggregate {
  min: number;
  max: number;
  sum: number;
  count: number;
}

function hourlyAggregates(readings: readonly ReadingRow[]): Map<string, Aggregate & { entityRef: number; hour: number }> {
  const byKey = new Map<string, Aggregate & { entityRef: number; hour: number }>();
  for (const { entityRef, ts, value } of readings) {
    if (value === null) continue;
    const hour = ts - (ts % HOUR_MS);
    const key = `${entityRef}:${hour}`;
    const agg = byKey.get(key);
    if (agg) {
      agg.min = Math.min(agg.min, value);
      agg.max = Math.max(agg.max, value);
      agg.sum += value;
      agg.count += 1;
    } else {
      byKey.set(key, { entityRef, hour, min: value, max: value, sum: value, count: 1 });
    }
  }
  return byKey;
}

/** History I/O in portable SQL (Prisma.sql placeholders work on SQLite and PostgreSQL). */
@Injectable()
export class HistoryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Writes a whole batch in one transaction: raw rows, hourly rollups, latest states, last-seen times. */
  async writeBatch(batch: HistoryBatch): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      for (let i = 0; i < batch.readings.length; i += INSERT_CHUNK) {
        const rows = batch.readings
          .slice(i, i + INSERT_CHUNK)
          .map((r) => Prisma.sql`(${r.entityRef}, ${BigInt(r.ts)}, ${r.value}, ${r.text})`);
        await tx.$executeRaw`INSERT INTO "Reading" ("entityRef", "ts", "value", "text") VALUES ${Prisma.join(rows)}`;
      }
      const aggregates = [...hourlyAggregates(batch.readings).values()];
      for (let i = 0; i < aggregates.length; i += INSERT_CHUNK) {
        const rows = aggregates
          .slice(i, i + INSERT_CHUNK)
          .map((a) => Prisma.sql`(${a.entityRef}, ${BigInt(a.hour)}, ${a.min}, ${a.max}, ${a.sum}, ${a.count})`);
        await tx.$executeRaw`INSERT INTO "HourlyRollup" ("entityRef", "hour", "min", "max", "sum", "count") VALUES ${Prisma.join(rows)}
          ON CONFLICT ("entityRef", "hour") DO UPDATE SET
            "min" = MIN("HourlyRollup"."min", excluded."min"),
            "max" = MAX("HourlyRollup"."max", excluded."max"),
            "sum" = "HourlyRollup"."sum" + excluded."sum",
            "count" = "HourlyRollup"."count" + excluded."count"`;
      }
      for (const [ref, { state, at }] of batch.latest) {
        await tx.entity.update({ where: { ref }, data: { state, stateAt: at } });
      }
      for (const [id, at] of batch.lastSeen) {
        await tx.device.updateMany({ where: { id }, data: { lastSeen: at } });
      }
    });
  }

  async raw(
    entityRef: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<Array<{ ts: number; value: number | null; text: string | null }>> {
    const rows = await this.prisma.$queryRaw<Array<{ ts: bigint | number; value: number | null; text: string | null }>>`
      SELECT "ts", "value", "text" FROM "Reading"
      WHERE "entityRef" = ${entityRef} AND "ts" >= ${BigInt(from)} AND "ts" < ${BigInt(to)}
      ORDER BY "ts", "id" LIMIT ${limit}`;
    return rows.map((r) => ({ ts: Number(r.ts), value: r.value, text: r.text }));
  }

  /** Buckets of raw rows in [from, to), bucket start aligned to multiples of bucketMs since the epoch. */
  async bucketsFromReadings(entityRef: number, from: number, to: number, bucketMs: number): Promise<BucketAggregate[]> {
    if (from >= to) return [];
    const size = BigInt(bucketMs);
    const rows = await this.prisma.$queryRaw<Array<{ t: bigint; min: number; max: number; sum: number; count: bigint | number }>>`
      SELECT ("ts" - ("ts" % ${size})) AS "t", MIN("value") AS "min", MAX("value") AS "max", SUM("value") AS "sum", COUNT("value") AS "count"
      FROM "Reading"
      WHERE "entityRef" = ${entityRef} AND "ts" >= ${BigInt(from)} AND "ts" < ${BigInt(to)} AND "value" IS NOT NULL
      GROUP BY "t" ORDER BY "t"`;
    return rows.map((r) => ({ t: Number(r.t), min: r.min, max: r.max, sum: r.sum, count: Number(r.count) }));
  }

  /** Buckets of whole hours in [fromHour, toHour) from the rollup table; bucketMs is a multiple of an hour. */
  async bucketsFromRollups(entityRef: number, fromHour: number, toHour: number, bucketMs: number): Promise<BucketAggregate[]> {
    if (fromHour >= toHour) return [];
    const size = BigInt(bucketMs);
    const rows = await this.prisma.$queryRaw<Array<{ t: bigint; min: number; max: number; sum: number; count: bigint | number }>>`
      SELECT ("hour" - ("hour" % ${size})) AS "t", MIN("min") AS "min", MAX("max") AS "max", SUM("sum") AS "sum", SUM("count") AS "count"
      FROM "HourlyRollup"
      WHERE "entityRef" = ${entityRef} AND "hour" >= ${BigInt(fromHour)} AND "hour" < ${BigInt(toHour)}
      GROUP BY "t" ORDER BY "t"`;
    return rows.map((r) => ({ t: Number(r.t), min: r.min, max: r.max, sum: r.sum, count: Number(r.count) }));
  }
}
