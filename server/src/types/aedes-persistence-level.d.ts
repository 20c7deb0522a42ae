// The promise-based persistence class behind aedes-persistence-level;
// ../broker/session-aware-persistence.ts gives it a type.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  const AsyncLevelPersistence: new (db: import('classic-level').ClassicLevel<string, Buffer>) => unknown;
  export = AsyncLevelPersistence;
}
