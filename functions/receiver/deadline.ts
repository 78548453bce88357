/** An upper bound on how long the receiver waits for a dependency, on top of the SDK's own timeouts. */

export class DeadlineExceededError extends Error {
  override readonly name = "DeadlineExceededError";
}

/**
 * `work` settled, or a DeadlineExceededError after `ms`, whichever comes first; `onDeadline` runs when the
 * deadline wins (to abort the request). The timer is always cleared, so it never holds the process open.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onDeadline?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onDeadline?.();
      reject(new DeadlineExceededError(`${what} did not answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
