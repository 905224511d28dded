/** A reason the process refuses to start; the CLI prints its message as one line and exits 1. */
export class SevaBootError extends Error {
  override name = 'SevaBootError';
}
