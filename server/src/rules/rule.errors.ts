/** A rule failed validation; each error has its path: HTTP 400. Rules already running are untouched. */
export class RuleValidationError extends Error {
  override name = 'RuleValidationError';
  constructor(
    message: string,
    readonly errors: Array<{ path: string; message: string }>,
  ) {
    super(`${message}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
}

/** The rule cannot be changed that way (it comes from a file, its id is taken): HTTP 409. */
export class RuleConflictError extends Error {
  override name = 'RuleConflictError';
}
