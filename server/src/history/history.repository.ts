import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import { Prisma } from '../generated/prisma/client';
import type { BucketAggregate, HistoryBatch, ReadingRow } from './history.types';

export const HOUR_MS = 3_600_000;
/** Rows a state update binds (3 parameters each); far below SQLite's 32,766-parameter limit. */
const UPDATE_CHUNK = 1000;

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

/**
 * History I/O through Prisma's raw SQL. The bulk writes pass a whole batch as one
 * JSON parameter unpacked by SQLite's json_each: binding 4,000 parameters a statement
 * cost more in Prisma's query compiler than SQLite spent storing the rows
 * (test/bench/RESULTS.md). On PostgreSQL these statements need jsonb_to_recordset
 * and LEAST/GREATEST instead (DECISIONS.md).
 */
@Injectable()
export class HistoryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Writes a whole batch in one transaction: raw rows, hourly rollups, latest states, last-seen times. */
  async writeBatch(batch: HistoryBatch): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      if (batch.readings.length > 0) {
        const rows = JSON.stringify(batch.readings.map((r) => [r.entityRef, r.ts, r.value, r.text]));
        await tx.$executeRaw`INSERT INTO "Reading" ("entityRef", "ts", "value", "text")
          SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(${rows})`;
      }
      const aggregates = [...hourlyAggregates(batch.readings).values()];
      if (aggregates.length > 0) {
        const rows = JSON.stringify(aggregates.map((a) => [a.entityRef, a.hour, a.min, a.max, a.sum, a.count]));
        // `WHERE true` lets SQLite parse ON CONFLICT after INSERT … SELECT.
        await tx.$executeRaw`INSERT INTO "HourlyRollup" ("entityRef", "hour", "min", "max", "sum", "count")
          SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(${rows}) WHERE true
          ON CONFLICT ("entityRef", "hour") DO UPDATE SET
            "min" = MIN("HourlyRollup"."min", excluded."min"),
            "max" = MAX("HourlyRollup"."max", excluded."max"),
            "sum" = "HourlyRollup"."sum" + excluded."sum",
            "count" = "HourlyRollup"."count" + excluded."count"`;
      }
      // One statement each, not one ORM update per entity and device: a flush from a
      // hundred devices was spending most of its time in Prisma's query compiler.
      // VALUES columns are named column1… in both SQLite and PostgreSQL.
      const latest = [...batch.latest].map(([ref, { state, at }]) => Prisma.sql`(${ref}, ${state}, ${at})`);
      for (let i = 0; i < latest.length; i += UPDATE_CHUNK) {
        await tx.$executeRaw`UPDATE "Entity" SET "state" = v.column2, "stateAt" = v.column3
          FROM (VALUES ${Prisma.join(latest.slice(i, i + UPDATE_CHUNK))}) AS v WHERE "Entity"."ref" = v.column1`;
      }
      const lastSeen = [...batch.lastSeen].map(([id, at]) => Prisma.sql`(${id}, ${at})`);
      for (let i = 0; i < lastSeen.length; i += UPDATE_CHUNK) {
        await tx.$executeRaw`UPDATE "Device" SET "lastSeen" = v.column2
          FROM (VALUES ${Prisma.join(lastSeen.slice(i, i + UPDATE_CHUNK))}) AS v WHERE "Device"."id" = v.column1`;
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
