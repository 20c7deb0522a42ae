/** A start-up failure the user can fix (bad config, port in use…); main.ts prints its message as one line and exits 1. */
export class StartupError extends Error {}
