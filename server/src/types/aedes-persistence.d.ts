// The promise-based persistence classes behind aedes-persistence and
// aedes-persistence-level; ./broker/session-aware-persistence.ts gives them a type.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  const AsyncLevelPersistence: new (db: import('classic-level').ClassicLevel<string, Buffer>) => unknown;
  export = AsyncLevelPersistence;
}

declare module 'aedes-persistence/asyncPersistence.js' {
  const MemoryPersistence: new () => unknown;
  export = MemoryPersistence;
}
