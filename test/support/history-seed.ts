import path from 'node:path';
import Database from 'better-sqlite3';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * Writes one-minute readings straight into a stopped server's database, with the hourly
 * rollups the history writer would keep, ending at `end`: a year of data in seconds
 * instead of hours of MQTT. The entity must exist (registered by an earlier run).
 */
export function seedMinuteReadings(dataDir: string, entityId: string, minutes: number, end: number): void {
  const db = new Database(path.join(dataDir, 'ninho.db'));
  try {
    const ref = db.prepare<[string], { ref: number }>('SELECT ref FROM "Entity" WHERE id = ?').get(entityId)?.ref;
    if (ref === undefined) throw new Error(`seed: entity ${entityId} was not registered`);
    db.prepare('DELETE FROM "Reading" WHERE "entityRef" = ?').run(ref);
    db.prepare('DELETE FROM "HourlyRollup" WHERE "entityRef" = ?').run(ref);
    const start = end - minutes * MINUTE_MS;
    const insertReading = db.prepare('INSERT INTO "Reading" ("entityRef", "ts", "value", "text") VALUES (?, ?, ?, NULL)');
    const insertRollup = db.prepare(
      'INSERT INTO "HourlyRollup" ("entityRef", "hour", "min", "max", "sum", "count") VALUES (?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      let hour = { start: -1, min: 0, max: 0, sum: 0, count: 0 };
      const flushHour = (): void => {
        if (hour.count > 0) insertRollup.run(ref, hour.start, hour.min, hour.max, hour.sum, hour.count);
      };
      for (let ts = start; ts < end; ts += MINUTE_MS) {
        // A DHT11 reads whole degrees with a daily swing; one decimal as Tasmota reports it.
        const value = Math.round((20 + 5 * Math.sin((ts / 86_400_000) * 2 * Math.PI) + Math.random()) * 10) / 10;
        insertReading.run(ref, ts, value);
        const h = ts - (ts % HOUR_MS);
        if (h !== hour.start) {
          flushHour();
          hour = { start: h, min: value, max: value, sum: 0, count: 0 };
        }
        hour.min = Math.min(hour.min, value);
        hour.max = Math.max(hour.max, value);
        hour.sum += value;
        hour.count += 1;
      }
      flushHour();
    })();
  } finally {
    db.close();
  }
}
