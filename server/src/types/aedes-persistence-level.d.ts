declare module 'aedes-persistence-level' {
  import type { ClassicLevel } from 'classic-level';
  /** Returns an aedes persistence (callback API) backed by the given level database. */
  function aedesPersistenceLevel(db: ClassicLevel<string, Buffer>): unknown;
  export = aedesPersistenceLevel;
}
