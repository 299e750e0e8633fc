import { BackupInvalidError, BackupNotFoundError, RestoreError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BackupCopy, BackupStore, ManifestRef } from '../store/backup-store.js';

type Reading = BackupCopy | { ref: ManifestRef; problem: BackupInvalidError };

/** Errors of copies that exist but fail the caller's check (an unusable file list, another partition count). */
const rejectedByCheck = new WeakSet<object>();

/**
 * backup-store-format.md §4: any completed copy of (partition, backup id) from any node will do.
 * Copies that are failed, in progress, deleted or unreadable are reported when no completed one
 * exists, so the operator learns what the store does hold.
 */
export async function findCompletedCopy(
  store: BackupStore,
  partitionId: number,
  backupId: bigint,
  log: Logger,
  /** Throws a BackupInvalidError for a copy that cannot be restored; the next completed copy is tried then. */
  accept?: (copy: BackupCopy) => void,
): Promise<BackupCopy> {
  const refs = await store.listManifests(partitionId, backupId);
  const readings = await Promise.all(
    refs.map(async (ref): Promise<Reading> => {
      try {
        return { ref, manifest: await store.readManifest(ref) };
      } catch (error) {
        if (error instanceof BackupInvalidError) return { ref, problem: error };
        throw error;
      }
    }),
  );
  const completed = readings
    .flatMap((reading) => ('manifest' in reading && reading.manifest.status === 'COMPLETED' ? [reading as BackupCopy] : []))
    .sort((a, b) => a.ref.nodeId - b.ref.nodeId);
  const rejected: { copy: BackupCopy; problem: BackupInvalidError }[] = [];
  const chosen = completed.find((copy) => {
    try {
      accept?.(copy);
      return true;
    } catch (error) {
      if (!(error instanceof BackupInvalidError)) throw error;
      rejected.push({ copy, problem: error });
      return false;
    }
  });
  if (chosen) {
    for (const reading of readings) {
      if ('problem' in reading) log.warn(`Partition ${partitionId}: ignoring node ${reading.ref.nodeId}'s copy: ${reading.problem.message}`);
    }
    for (const { copy, problem } of rejected) {
      log.warn(`Partition ${partitionId}: ignoring node ${copy.ref.nodeId}'s copy, which cannot be restored: ${problem.message}`);
    }
    return chosen;
  }
  if (rejected[0]) {
    rejectedByCheck.add(rejected[0].problem);
    throw rejected[0].problem;
  }
  const found = readings.map((reading) =>
    'problem' in reading
      ? `an unreadable manifest from node ${reading.ref.nodeId} (${reading.problem.message})`
      : `${reading.manifest.status} from node ${reading.ref.nodeId}` +
        (reading.manifest.failureReason ? `: ${reading.manifest.failureReason}` : ''),
  );
  const detail =
    found.length === 0
      ? `no copy of partition ${partitionId} exists in the ${store.description}`
      : `partition ${partitionId} has only ${found.join('; ')}`;
  const ErrorClass = readings.some((reading) => 'problem' in reading) ? BackupInvalidError : BackupNotFoundError;
  throw new ErrorClass(`Could not find a completed backup with id ${backupId}: ${detail}.`);
}

/**
 * Looks up every wanted (partition, backup) pair before anything is written, such as the links of
 * restore chains, and reports all that are missing at once; results in the given order. Found
 * copies are checked with `check` first: a backup of a cluster with a different partition count
 * explains missing partitions better than the missing partitions do.
 */
export async function findCompletedCopiesOf<T>(
  store: BackupStore,
  wanted: { partitionId: number; backupId: bigint }[],
  log: Logger,
  check: (copy: BackupCopy) => T,
): Promise<{ copy: BackupCopy; checked: T }[]> {
  const results = await Promise.allSettled(
    wanted.map(({ partitionId, backupId }) => findCompletedCopy(store, partitionId, backupId, log, (copy) => void check(copy))),
  );
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  // A copy that exists but fails the check (another partition count) explains the rest best.
  const checkFailure = failures.find((failure) => typeof failure === 'object' && failure !== null && rejectedByCheck.has(failure));
  if (checkFailure) throw checkFailure;
  const found = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const checked = found.map((copy) => ({ copy, checked: check(copy) }));
  if (failures.length === 0) return checked;
  const unexpected = failures.find((failure) => !(failure instanceof RestoreError));
  if (unexpected) throw unexpected;
  const errors = failures as RestoreError[];
  // The most actionable class wins: an unreachable store explains missing backups.
  const order = ['storeUnavailable', 'backupInvalid', 'backupNotFound'];
  errors.sort((a, b) => order.indexOf(a.failureClass) - order.indexOf(b.failureClass));
  const first = errors[0]!;
  if (errors.length === 1) throw first;
  throw new RestoreError(first.failureClass, errors.map((error) => error.message).join('\n'));
}
