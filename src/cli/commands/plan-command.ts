import { describeRange, type RestorePoint } from '../../chain/restore-point.js';
import { describeTarget, describeTimeRange, type ResolvedTarget, resolveTarget, type RestoreTarget } from '../../chain/restore-target.js';
import { expectedMembersOf, partitionsOwnedBy } from '../../cluster/partition-layout.js';
import type { RestoreConfig } from '../../config/restore-config.js';
import { positionsFromSnapshotId } from '../../snapshot/snapshot-positions.js';
import { checkDataDirectory } from '../../datadir/guard.js';
import { ExitCode, RestoreError } from '../../errors.js';
import { describeRecord, recordMatches } from '../../restore/previous-run.js';
import { readRestoreRecord } from '../../restore/restore-record.js';
import { type ChainLink, filesOf, filesOfChain, type PartitionPlan, planPartitions, segmentsAfterCheckpointOf } from '../../restore/restore-plan.js';
import { findStagingLeftover } from '../../restore/workspace.js';
import type { BackupStore } from '../../store/backup-store.js';
import { brokerWritesTopologyFile, topologyFileName } from '../../topology/topology-file-name.js';
import { formatBytes } from '../../util/format.js';
import type { CommandContext } from '../context.js';
import { renderTable, snapshotPositionCells, snapshotPositionHeaders } from '../table.js';

interface DataDirectoryVerdict {
  /** What a restore would do with the data directory. */
  state: 'ready' | 'alreadyRestored' | 'refused';
  message: string;
  exitCode: number;
}

/**
 * `restore --dry-run` / `restore plan`: everything the restore would decide, and nothing written.
 * Exits with the code the restore would exit with, so a script can check a node before the real run.
 * Chains (several backups, or a time range) show one row per backup, oldest first.
 */
export async function printPlan(context: CommandContext, store: BackupStore, target: RestoreTarget, json: boolean): Promise<number> {
  const { config } = context.loaded;
  const partitionIds = partitionsOwnedBy(config);
  const verdict = await judgeDataDirectory(context, target);
  const resolved = await resolveTarget(store, config, partitionIds, target, context.log);
  const plans = await planPartitions(store, config, resolved.chains, context.log);
  const topology = config.nodeId === 0 && plans.some(({ chain }) => brokerWritesTopologyFile(chain.at(-1)!.copy.manifest.descriptor?.brokerVersion));
  if (json) {
    process.stdout.write(`${JSON.stringify(planJson(context, store, target, resolved, verdict, plans, topology), null, 2)}\n`);
    return verdict.exitCode;
  }
  const chained = target.kind !== 'backups' || plans.some(({ chain }) => chain.length > 1);
  const rows = plans.flatMap(({ partitionId, chain }) =>
    chain.map((link, position) => {
      const row = linkRow(link);
      const partition = position === 0 ? String(partitionId) : '';
      return chained ? [partition, String(link.copy.ref.checkpointId), ...row] : [partition, ...row];
    }),
  );
  const headers = ['Partition', ...(chained ? ['Backup'] : []), 'Copy', 'Broker', 'Snapshot', ...snapshotPositionHeaders, 'Checkpoint', 'Files', 'Size', 'Compression'];
  const totalBytes = plans.reduce((sum, plan) => sum + plan.storedBytes, 0);
  const totalFiles = plans.reduce((sum, { chain }) => sum + filesOfChain(chain).length, 0);
  const skipped = plans.reduce((sum, { chain }) => sum + segmentsAfterCheckpointOf(chain).length, 0);
  const point = resolved.timeRange;
  process.stdout.write(
    [
      `Plan: restore ${describeTarget(target)} on node ${config.nodeId} of ${config.clusterSize} ` +
        `(partitions ${partitionIds.join(', ')} of ${config.partitionCount}) from the ${store.description}.`,
      ...(point && resolved.exportedPositionsSource ? exportedPositionLines(point, resolved.exportedPositionsSource, config.partitionCount) : []),
      ...(point && !resolved.exportedPositionsSource
        ? [
            `Restore point: checkpoint ${point.checkpointId} (${point.timestamp.iso}), common to all ${config.partitionCount} partitions; ` +
              `chosen from ${[...new Set(point.chains.map((chain) => chain.source))].join(', ')}.`,
          ]
        : []),
      ...(chained ? ["Each partition's log is rebuilt from its backups, oldest first: the first backup's snapshot, then every backup's log up to its checkpoint."] : []),
      `Data directory ${config.dataDirectory}: ${verdict.message}`,
      '',
      renderTable(headers, rows),
      '',
      `Total: ${totalFiles} files, ${formatBytes(totalBytes)} to download. Nothing was written (dry run).`,
      ...(skipped > 0
        ? [`Not downloaded: ${skipped} log segment${skipped === 1 ? '' : 's'} wholly after the checkpoint, which the restore would delete anyway.`]
        : []),
      ...(topology ? [`Node 0 of an 8.8+ cluster: the restore also writes ${topologyFileName}, as Zeebe's restore does.`] : []),
      'Before anything is moved into place, the restore checks that a broker can start: each log must continue its snapshot and hold the ' +
        'processed and exported positions above, and its newest Raft configuration is compared with the members this configuration ' +
        `gives each partition (${describeMembers(config, partitionIds)}).`,
      '',
    ].join('\n'),
  );
  return verdict.exitCode;
}

/**
 * An RDBMS restore's choice, for every partition of the cluster: the position the database holds,
 * the backup range that covers it, and the backups restored, up to the common checkpoint.
 */
function exportedPositionLines(point: RestorePoint, source: string, partitionCount: number): string[] {
  const rows = point.chains.map((chain) => [
    String(chain.partitionId),
    String(chain.exportedPosition),
    describeRange(chain.range),
    chain.backups.map((backup) => backup.checkpointId).join(', '),
  ]);
  return [
    `Exported positions read from ${source}.`,
    `Common checkpoint: ${point.checkpointId} (${point.timestamp.iso}) of all ${partitionCount} partitions, chosen as Zeebe 8.9 does from the ` +
      `exported positions and ${[...new Set(point.chains.map((chain) => chain.source))].join(', ')}:`,
    '',
    renderTable(['Partition', 'Exported position', 'Backup range', 'Backups restored'], rows),
    '',
  ];
}

function linkRow({ copy, plan, storedBytes }: ChainLink): string[] {
  const files = filesOf(plan);
  const algorithms = [...new Set(files.map(({ file }) => file.compression ?? 'none'))].join(', ');
  return [
    `node ${copy.ref.nodeId}`,
    copy.manifest.descriptor?.brokerVersion ?? '?',
    plan.snapshotId ?? (copy.manifest.descriptor?.snapshotId ? '(log only)' : '(none)'),
    ...snapshotPositionCells(plan.snapshotId),
    String(plan.checkpointPosition),
    String(files.length),
    formatBytes(storedBytes),
    algorithms,
  ];
}

async function judgeDataDirectory(context: CommandContext, target: RestoreTarget): Promise<DataDirectoryVerdict> {
  const { config } = context.loaded;
  const record = await readRestoreRecord(config.dataDirectory);
  if (record) {
    return recordMatches(record, target) && record.nodeId === config.nodeId
      ? { state: 'alreadyRestored', message: `already holds this restore (${record.restoredAt}); a restore would change nothing.`, exitCode: ExitCode.success }
      : {
          state: 'refused',
          message: `holds ${describeRecord(record)} restored as node ${record.nodeId}; a restore would refuse it.`,
          exitCode: ExitCode.dataDirectoryNotEmpty,
        };
  }
  const leftover = await findStagingLeftover(config.dataDirectory);
  try {
    const ignored = leftover ? [...config.restore.ignoreFilesInTarget, leftover.path.split('/').pop()!] : config.restore.ignoreFilesInTarget;
    const state = await checkDataDirectory(config.dataDirectory, ignored);
    const note = leftover ? ' (the staging area of an interrupted restore would be removed first)' : '';
    return {
      state: 'ready',
      message: (state.exists ? 'empty apart from allowed entries' : 'does not exist yet') + `; the restore can proceed${note}.`,
      exitCode: ExitCode.success,
    };
  } catch (error) {
    if (!(error instanceof RestoreError)) throw error;
    return { state: 'refused', message: `a restore would stop here: ${error.message}`, exitCode: error.exitCode };
  }
}

function planJson(
  context: CommandContext,
  store: BackupStore,
  target: RestoreTarget,
  resolved: ResolvedTarget,
  verdict: DataDirectoryVerdict,
  plans: PartitionPlan[],
  topology: boolean,
) {
  const { config } = context.loaded;
  const long = (value: bigint) => JSON.rawJSON(value.toString());
  const point = resolved.timeRange;
  return {
    backupId: long(resolved.restorePoint),
    ...(target.kind === 'backups' && target.backupIds.length > 1 ? { backupIds: target.backupIds.map(long) } : {}),
    ...(target.kind !== 'backups'
      ? {
          ...(target.kind === 'timeRange' || target.from || target.to
            ? { timeRange: { ...(target.from ? { from: target.from.iso } : {}), ...(target.to ? { to: target.to.iso } : {}), request: describeTimeRange(target) } }
            : {}),
          restorePoint: { checkpointId: long(point!.checkpointId), timestamp: point!.timestamp.iso },
        }
      : {}),
    ...(resolved.exportedPositionsSource
      ? {
          exportedPositions: {
            source: resolved.exportedPositionsSource,
            partitions: point!.chains.map((chain) => ({
              partitionId: chain.partitionId,
              exportedPosition: long(chain.exportedPosition!),
              range: { start: long(chain.range.start), end: long(chain.range.end) },
              backupIds: chain.backups.map((backup) => long(backup.checkpointId)),
            })),
          },
        }
      : {}),
    nodeId: config.nodeId,
    store: store.description,
    dataDirectory: { path: config.dataDirectory, state: verdict.state, message: verdict.message },
    writesTopologyFile: topology,
    partitions: plans.map(({ partitionId, chain, storedBytes }) => {
      const first = chain[0]!;
      const last = chain.at(-1)!;
      return {
        partitionId,
        fromNode: first.copy.ref.nodeId,
        manifest: first.copy.ref.location,
        brokerVersion: last.copy.manifest.descriptor?.brokerVersion,
        snapshotId: first.plan.snapshotId,
        ...snapshotPositionsJson(first.plan.snapshotId),
        checkpointPosition: long(last.plan.checkpointPosition),
        expectedMembers: expectedMembersOf(config, partitionId).nodes,
        storedBytes,
        ...(chain.length > 1 || target.kind !== 'backups'
          ? {
              backups: chain.map((link) => ({
                backupId: long(link.copy.ref.checkpointId),
                fromNode: link.copy.ref.nodeId,
                manifest: link.copy.ref.location,
                checkpointPosition: long(link.plan.checkpointPosition),
                storedBytes: link.storedBytes,
              })),
            }
          : {}),
        files: filesOfChain(chain).map(({ kind, file }) => ({ kind, name: file.name, compression: file.compression ?? 'none' })),
        segmentsAfterCheckpoint: segmentsAfterCheckpointOf(chain).map(({ name }) => name),
      };
    }),
  };
}

/** `partition 1: nodes 0, 1, 2; partition 2: nodes 1, 2, 0 …` (round-robin over 3 brokers …). */
function describeMembers(config: RestoreConfig, partitionIds: number[]): string {
  const members = partitionIds.map((partitionId) => `partition ${partitionId}: nodes ${expectedMembersOf(config, partitionId).nodes.join(', ')}`);
  return `${members.join('; ')}; ${expectedMembersOf(config, partitionIds[0]!).layout}`;
}

/** The positions the snapshot id names, as JSON longs. */
function snapshotPositionsJson(snapshotId: string | undefined) {
  const positions = snapshotId === undefined ? undefined : positionsFromSnapshotId(snapshotId);
  if (!positions) return {};
  const long = (value: bigint) => JSON.rawJSON(value.toString());
  return { snapshotIndex: long(positions.index), processedPosition: long(positions.processedPosition), exportedPosition: long(positions.exportedPosition) };
}
