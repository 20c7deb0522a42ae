export interface ReadingRow {
  entityRef: number;
  ts: number;
  value: number | null;
  text: string | null;
}

export interface HistoryBatch {
  readings: ReadingRow[];
  /** Latest state per entity ref, JSON-encoded. */
  latest: Map<number, { state: string; at: Date }>;
  lastSeen: Map<string, Date>;
}

export interface RawPoint {
  t: number;
  value: number | string | boolean | null;
}

export interface BucketPoint {
  t: number;
  min: number;
  max: number;
  avg: number;
  count: number;
}

export interface BucketAggregate {
  t: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}
