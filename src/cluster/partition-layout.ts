import type { FixedPartition, RestoreConfig } from '../config/restore-config.js';
import { UsageError } from '../errors.js';

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * Zeebe's round-robin distribution: partition p's members are nodes (p-1+j) mod N for
 * j = 0 … min(RF, N)-1, so node n is a member iff its distance after p-1 on the ring is below that.
 */
function roundRobinPartitions(config: RestoreConfig): number[] {
  const { nodeId, clusterSize: n, replicationFactor, partitionCount } = config;
  const members = Math.min(replicationFactor, n);
  return range(1, partitionCount).filter((p) => (((nodeId - (p - 1)) % n) + n) % n < members);
}

/** The same checks Zeebe's fixed distributor makes, all reported at once. */
function fixedLayoutProblems(config: RestoreConfig, fixed: readonly FixedPartition[]): string[] {
  const { clusterSize, partitionCount, replicationFactor } = config;
  const problems: string[] = [];
  const ids = fixed.map((partition) => partition.partitionId);
  const listed = new Set(ids);
  const repeated = [...listed].filter((id) => ids.indexOf(id) !== ids.lastIndexOf(id));
  if (repeated.length > 0) problems.push(`partitions ${repeated.join(', ')} are listed more than once`);
  const missing = range(1, partitionCount).filter((p) => !listed.has(p));
  if (missing.length > 0) problems.push(`partitions ${missing.join(', ')} are not listed (every partition 1..${partitionCount} must be)`);
  for (const { partitionId, nodes } of fixed) {
    if (partitionId > partitionCount) {
      problems.push(`partition ${partitionId} does not exist: the partition count is ${partitionCount}`);
    }
    const unknown = nodes.map((node) => node.nodeId).filter((id) => id >= clusterSize);
    if (unknown.length > 0) {
      problems.push(`partition ${partitionId} names node ${unknown.join(', ')}, but nodes are numbered 0..${clusterSize - 1}`);
    }
    if (nodes.length !== replicationFactor) {
      problems.push(`partition ${partitionId} has ${nodes.length} members, but the replication factor is ${replicationFactor}`);
    }
  }
  return problems;
}

function fixedPartitions(config: RestoreConfig, fixed: readonly FixedPartition[]): number[] {
  const problems = fixedLayoutProblems(config, fixed);
  if (problems.length > 0) {
    throw new UsageError(`The FIXED partitioning layout is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  return fixed.filter((p) => p.nodes.some((node) => node.nodeId === config.nodeId)).map((p) => p.partitionId);
}

/** The nodes that host partition `partitionId` under this configuration, sorted. */
export function partitionMembers(config: RestoreConfig, partitionId: number): number[] {
  const { clusterSize: n, replicationFactor, partitioning } = config;
  if (partitioning.scheme === 'FIXED') {
    const nodes = partitioning.fixed.find((partition) => partition.partitionId === partitionId)?.nodes ?? [];
    return nodes.map((node) => node.nodeId).sort((a, b) => a - b);
  }
  return range(0, Math.min(replicationFactor, n) - 1)
    .map((j) => (partitionId - 1 + j) % n)
    .sort((a, b) => a - b);
}

/** The nodes the configuration places a partition on, and how, for messages. */
export interface ExpectedMembers {
  nodes: number[];
  layout: string;
}

export function expectedMembersOf(config: RestoreConfig, partitionId: number): ExpectedMembers {
  const layout =
    config.partitioning.scheme === 'FIXED'
      ? 'the FIXED partitioning layout'
      : `round-robin over ${config.clusterSize} brokers with replication factor ${config.replicationFactor}`;
  return { nodes: partitionMembers(config, partitionId), layout };
}

/**
 * Zeebe 8.9's S3 node-id provider leases each broker's node id and keeps its data under
 * `<data>/node-<id>/v<version>/` with a `directory-initialized.json` (`NodeIdProviderConfiguration`,
 * `VersionedNodeIdBasedDataDirectoryProvider`); its restore takes part in that protocol. Restoring
 * into `<data>/raft-partition` as the configured node id would leave a broker that starts empty.
 */
function refuseLeasedNodeIds(config: RestoreConfig): void {
  if (config.nodeIdProvider !== 'S3') return;
  throw new UsageError(
    'This broker takes its node id from the S3 node-id provider (camunda.cluster.node-id-provider.type=S3, Zeebe 8.9 dynamic ' +
      'node ids): it leases its id at start-up and keeps its data under <data>/node-<id>/v<version>/, which this agent does not ' +
      'implement yet. Restoring here as node ' +
      `${config.nodeId} would leave a broker that starts with an empty data directory. Restore these nodes with Zeebe's own ` +
      "restore app, or run the cluster with fixed node ids (camunda.cluster.node-id-provider.type=FIXED and each broker's " +
      'camunda.cluster.node-id) for the restore and afterwards. Nothing was written.',
  );
}

/** The partitions this node must restore, sorted. */
export function partitionsOwnedBy(config: RestoreConfig): number[] {
  refuseLeasedNodeIds(config);
  const { nodeId, clusterSize, partitioning } = config;
  if (nodeId >= clusterSize) {
    throw new UsageError(
      `Node id ${nodeId} is not part of the cluster: with cluster size ${clusterSize} the nodes are numbered 0..${clusterSize - 1}. ` +
        'Each broker needs its own node id; in Kubernetes it must come from the pod ordinal (camunda-zeebe-2 → 2), as the broker start script derives it.',
    );
  }

  const owned =
    partitioning.scheme === 'FIXED' ? fixedPartitions(config, partitioning.fixed) : roundRobinPartitions(config);

  if (owned.length === 0) {
    throw new UsageError(
      `Node ${nodeId} is not a member of any partition (cluster size ${config.clusterSize}, ${config.partitionCount} partitions, ` +
        `replication factor ${config.replicationFactor}, ${partitioning.scheme} partitioning), so there is nothing to restore. ` +
        'Check the node id and the cluster settings against the broker configuration.',
    );
  }
  return owned.sort((a, b) => a - b);
}
