import { ExitCode, type FailureClass } from '../errors.js';

/** The exit-code table shown by `--help` and documented in the README. */
export const exitCodeDescriptions: Record<FailureClass | 'success', string> = {
  success: 'restored (or, with --print-config, printed the configuration)',
  internal: 'internal error (a bug: please report it with the log)',
  usage: 'usage or configuration error: fix the arguments or the broker configuration',
  dataDirectoryNotEmpty: 'the data directory is not empty: nothing was changed',
  backupNotFound: "no completed backup with this id for some partition, or none that covers the secondary database's exported positions",
  backupInvalid: 'the backup is invalid or corrupt',
  storeUnavailable: 'the backup store or the secondary database is unreachable or denied access',
  localStorage: 'the local disk failed (full, read-only, permission denied)',
  interrupted: 'interrupted by SIGINT or SIGTERM; everything written was removed',
};

export function exitCodeTable(): string {
  return (Object.keys(exitCodeDescriptions) as (FailureClass | 'success')[])
    .map((failureClass) => `  ${String(ExitCode[failureClass]).padStart(3)}  ${exitCodeDescriptions[failureClass]}`)
    .join('\n');
}
