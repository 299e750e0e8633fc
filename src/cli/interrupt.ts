import { ExitCode, InterruptedError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/**
 * Runs `work` with a signal that SIGINT and SIGTERM abort, so it stops promptly and cleans up
 * (`cleanup` says how, in the warning); a second signal exits at once.
 */
export async function interruptibly<T>(log: Logger, cleanup: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stopOn = (signal: NodeJS.Signals) => () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    log.warn(`Received ${signal}: stopping and ${cleanup} (send it again to exit at once).`);
    controller.abort(new InterruptedError(signal));
  };
  const onInt = stopOn('SIGINT');
  const onTerm = stopOn('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
