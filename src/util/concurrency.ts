import { RestoreError } from '../errors.js';

/**
 * Runs at most `concurrency` tasks at once; queued tasks do not start once `signal` aborted.
 * A freed slot goes to the waiting task of the highest `priority` (first come among equals).
 */
export function createLimiter(concurrency: number, signal: AbortSignal) {
  let running = 0;
  const waiting: { priority: number; start: () => void }[] = [];
  const startNext = () => {
    if (waiting.length === 0) return;
    let next = 0;
    for (let i = 1; i < waiting.length; i++) if (waiting[i]!.priority > waiting[next]!.priority) next = i;
    waiting.splice(next, 1)[0]!.start();
  };
  return async function limit<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    if (running >= concurrency) await new Promise<void>((start) => waiting.push({ priority, start }));
    running++;
    try {
      signal.throwIfAborted();
      return await task();
    } finally {
      running--;
      startNext();
    }
  };
}

export type Limit = ReturnType<typeof createLimiter>;

/**
 * Runs every task; the first failure aborts `controller` so the others stop early, and the
 * returned promise settles only when all tasks have settled, so nothing still writes when the
 * caller starts cleaning up. The error reported is the first real one, not a follow-on abort.
 */
export async function runAll<T>(tasks: (() => Promise<T>)[], controller: AbortController): Promise<T[]> {
  let firstError: unknown;
  let failed = false;
  const results = await Promise.allSettled(
    tasks.map((task) =>
      task().catch((error: unknown) => {
        if (!failed) {
          failed = true;
          firstError = controller.signal.aborted ? abortReason(controller.signal, error) : error;
          controller.abort(firstError);
        }
        throw error;
      }),
    ),
  );
  if (failed) throw firstError;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** Prefer the reason given to abort() (an InterruptedError, say) over the AbortError it caused. */
export function abortReason(signal: AbortSignal, fallback: unknown): unknown {
  return signal.reason instanceof RestoreError ? signal.reason : fallback;
}
