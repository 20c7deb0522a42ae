/** The plugin cannot do that in its present state (remove a bundled plugin, install over a running id…): HTTP 409. */
export class PluginConflictError extends Error {
  override name = 'PluginConflictError';
}

/** A plugin package or its options failed validation; each error has its path: HTTP 400. */
export class PluginValidationError extends Error {
  override name = 'PluginValidationError';
  constructor(
    message: string,
    readonly errors: Array<{ path: string; message: string }>,
  ) {
    super(`${message}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
}
