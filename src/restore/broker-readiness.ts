import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupInvalidError, RestoreError } from '../errors.js';
import type { LogSummary } from '../journal/log-summary.js';
import { nodeIdOfMember, type RaftMember } from '../journal/raft-entry.js';
import type { SnapshotPositions } from '../snapshot/snapshot-positions.js';

/*
 * What a broker needs from a restored partition when it first starts on it, read in Zeebe's source
 * (8.5.4 unless said; unchanged through 8.9 where checked), and checked before the partitions are
 * moved into place, so that "Successfully restored" means the broker starts from what was written.
 */

export interface RestoredPartition {
  partitionId: number;
  snapshotId?: string;
  /** Undefined without a snapshot, or for a snapshot id that is not Zeebe's numeric form. */
  snapshot?: SnapshotPositions;
  log: LogSummary;
}

/**
 * Why a broker would not start on the partition; empty when it would.
 *
 * - Raft (`RaftContext` → `StateUtil.verifySnapshotLogConsistent`): the log must start at index 1,
 *   or, with a snapshot at index S, at most at S + 1; otherwise "expected to find a snapshot at
 *   index >= log's first index".
 * - The stream processor (`StreamProcessor.recoverFromSnapshot`, `LogStreamReaderImpl.seekToNextEvent`)
 *   resumes after the snapshot's processed position P: the log must hold position P, or start
 *   right after it; otherwise "Expected to find event with the snapshot position P in log stream,
 *   but nothing was found".
 * - The exporters (`ExporterDirector`, the same seek) resume after their lowest exported position:
 *   the same rule for the snapshot's exported position (0 means no exporter had one), and, from 8.9,
 *   its maxExportedPosition must not lie beyond the log's end (camunda/camunda#63568: a restore that
 *   reported success, then the exporters failed on positions missing from the restored log).
 */
export function startupProblems({ snapshot, snapshotId, log }: RestoredPartition): string[] {
  const problems: string[] = [];
  const snapshotIndex = snapshot?.index ?? 0n;
  if (log.firstIndex !== 1n && !(snapshotIndex > 0n && log.firstIndex <= snapshotIndex + 1n)) {
    problems.push(
      `the log starts at index ${log.firstIndex}, ` +
        (snapshot ? `more than one past the snapshot's index ${snapshotIndex}` : 'but without a snapshot it must start at index 1') +
        `: Raft would refuse to start ("expected to find a snapshot at index >= log's first index ${log.firstIndex}, but found snapshot ${snapshotIndex}")`,
    );
  }
  if (!snapshot) return problems;
  const holds = log.positions ? `the log holds positions ${log.positions.first} to ${log.positions.last}` : 'the log holds no position';
  const missing = (position: bigint) =>
    !log.positions || log.positions.first > position + 1n || position > log.positions.last;
  const from = `snapshot ${snapshotId}${snapshot.source === 'zeebe.metadata' ? "'s zeebe.metadata" : ''}`;
  if (snapshot.processedPosition >= 0n && missing(snapshot.processedPosition)) {
    problems.push(
      `the processed position ${snapshot.processedPosition} of ${from} is not in the log (${holds}): the stream processor would fail ` +
        `("Expected to find event with the snapshot position ${snapshot.processedPosition} in log stream, but nothing was found")`,
    );
  }
  if (snapshot.exportedPosition > 0n && missing(snapshot.exportedPosition)) {
    problems.push(
      `the exported position ${snapshot.exportedPosition} of ${from} is not in the log (${holds}): the exporters could not resume ` +
        `("Expected to find event with the snapshot position ${snapshot.exportedPosition} in log stream")`,
    );
  }
  const maxExported = snapshot.maxExportedPosition;
  if (maxExported !== undefined && maxExported > 0n && log.positions && maxExported > log.positions.last) {
    problems.push(
      `the exporters had exported up to position ${maxExported} (maxExportedPosition of ${from}), past the log's end at ${log.positions.last}: ` +
        'they would look for records this backup does not hold (camunda/camunda#63568)',
    );
  }
  return problems;
}

/** Fails with exit code 5 when a broker would not start on the partition. */
export function requireStartable(partition: RestoredPartition): void {
  const problems = startupProblems(partition);
  if (problems.length === 0) return;
  throw new BackupInvalidError(
    `A broker could not start from this restored partition: ${problems.join('; ')}. The backup's snapshot and log do not fit together; ` +
      'restore another backup, or a chain of backups whose log reaches back to the snapshot.',
  );
}

/** The log's Raft members and the ones the configuration gives the partition, when they differ. */
export interface MembershipMismatch {
  configurationIndex: bigint;
  logMembers: RaftMember[];
  oldMembers: RaftMember[];
  expectedNodes: number[];
}

/**
 * Each partition's log carries Raft configuration entries with its members. Zeebe 8.9 brokers with
 * camunda/camunda#62837 (8.8: #63163) adopt the newest one at start-up (`RaftClusterContext.bootstrap`
 * → `reloadConfigurationFromLog`), while the restore places data by the static configuration; when
 * the two differ (a cluster scaled after install, camunda/camunda#60088), replicas wait for members
 * that hold no data. Entries this agent cannot decode are not considered.
 */
export function membershipMismatch(log: LogSummary, expectedNodes: number[]): MembershipMismatch | undefined {
  const configuration = log.configuration;
  if (!configuration) return undefined;
  const logNodes = configuration.members.map(({ id }) => nodeIdOfMember(id));
  const same =
    configuration.oldMembers.length === 0 &&
    logNodes.length === expectedNodes.length &&
    [...logNodes].sort((a, b) => (a ?? -1) - (b ?? -1)).every((node, i) => node === expectedNodes[i]);
  if (same) return undefined;
  return { configurationIndex: configuration.index, logMembers: configuration.members, oldMembers: configuration.oldMembers, expectedNodes };
}

export function describeMembershipMismatch(partitionId: number, mismatch: MembershipMismatch, layout: string): string {
  const members = (list: RaftMember[]) => list.map(({ id, type }) => (type === 'ACTIVE' ? id : `${id} (${type})`)).join(', ');
  const joint = mismatch.oldMembers.length > 0 ? `, in the middle of a change from ${members(mismatch.oldMembers)}` : '';
  return (
    `Partition ${partitionId}: the newest Raft configuration in the log (index ${mismatch.configurationIndex}) has members ` +
    `${members(mismatch.logMembers)}${joint}, but this configuration places the partition on nodes ${mismatch.expectedNodes.join(', ')} (${layout}). ` +
    'Zeebe 8.9 brokers adopt the members in the log (camunda/camunda#60088): if the cluster was scaled after the backup\'s layout was set up, ' +
    'check that clusterSize, partitionCount, replicationFactor and the partitioning scheme match the cluster that took the backup.'
  );
}

/**
 * Zeebe 8.9's `PostRestoreValidator`, on the staged data before it is moved into place: every
 * partition this node hosts has a non-empty directory (here: a log, and the snapshot with its
 * checksum file when the backup has one), and node 0 of an 8.8+ cluster has `.topology.meta`.
 * Its failure message is "Expected to find restored data on node <id>, but validation failed."
 */
export async function checkRestoredLayout(
  nodeId: number,
  partitions: { partitionId: number; directory: string; snapshotId?: string }[],
  topologyFile: string | undefined,
): Promise<void> {
  const problems: string[] = [];
  for (const { partitionId, directory, snapshotId } of partitions) {
    const entries = await readdir(directory).catch(() => [] as string[]);
    if (!entries.some((name) => name.endsWith('.log'))) problems.push(`partition ${partitionId} has no log segment in ${directory}`);
    if (snapshotId === undefined) continue;
    const snapshots = await readdir(join(directory, 'snapshots')).catch(() => [] as string[]);
    for (const name of [snapshotId, `${snapshotId}.checksum`]) {
      if (!snapshots.includes(name)) problems.push(`partition ${partitionId} lacks snapshots/${name}`);
    }
  }
  if (topologyFile !== undefined && !(await stat(topologyFile).then((info) => info.isFile(), () => false))) {
    problems.push(`the cluster topology file ${topologyFile} is missing`);
  }
  if (problems.length > 0) {
    throw new RestoreError('internal', `Expected to find restored data on node ${nodeId}, but validation failed: ${problems.join('; ')}.`);
  }
}
