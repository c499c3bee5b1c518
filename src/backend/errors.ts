// Kept apart from backend/index.ts so the CLI can recognise the error without loading tfjs.

/** The backend asked for cannot run here: a usage error (exit 2), with what to install or set. */
export class BackendUnavailableError extends Error {}
