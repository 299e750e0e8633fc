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

/** The partitions this node must restore, sorted. */
export function partitionsOwnedBy(config: RestoreConfig): number[] {
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
