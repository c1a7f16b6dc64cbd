/**
 * A user callback may be async: its rejection, unhandled, would end the process (Node's default), where a
 * throw is caught and reported. This sends the rejection to the same report.
 */
export function reportRejection(result: unknown, report: (err: unknown) => void): void {
  if (typeof (result as PromiseLike<unknown> | null | undefined)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, report);
}
