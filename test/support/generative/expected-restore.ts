import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { referenceTruncation } from './reference-truncation.js';
import { GENERATED_PARTITION_ID, type GeneratedPartition } from './write-partition.js';

export type ExpectedRestore =
  /** Every file under the data directory's `raft-partition/`, by relative path, with its exact bytes. */
  | { kind: 'restored'; files: Map<string, Buffer> }
  /** No entry has the checkpoint position: the restore must fail and leave the data directory alone. */
  | { kind: 'checkpointMissing'; checkpointPosition: bigint };

/**
 * What a correct restore produces, computed another way than the agent does: every segment as
 * written (none skipped), cut by the reference truncation; the snapshot's files as written.
 */
export async function expectedRestoreOf(partition: GeneratedPartition): Promise<ExpectedRestore> {
  const segments = new Map(await Promise.all(partition.segmentFiles.map(async ({ name, source }) => [name, await readFile(source)] as const)));
  const { plan } = partition;
  const truncation = referenceTruncation(segments, plan.checkpointPosition);
  // The generator placed the checkpoint and the model found it: they must agree, or one of them is wrong.
  const plannedIndex = plan.checkpointEntry === undefined ? undefined : plan.entries[plan.checkpointEntry]!.index;
  const modelIndex = truncation.kind === 'truncated' ? truncation.checkpointIndex : undefined;
  if (plannedIndex !== modelIndex) {
    throw new Error(`the generator placed the checkpoint at index ${plannedIndex}, the reference model found it at ${modelIndex}`);
  }
  if (truncation.kind === 'checkpointMissing') return { kind: 'checkpointMissing', checkpointPosition: plan.checkpointPosition };

  const partitionDirectory = `partitions/${GENERATED_PARTITION_ID}`;
  const files = new Map<string, Buffer>();
  for (const [name, bytes] of truncation.files) files.set(`${partitionDirectory}/${name}`, bytes);
  const { snapshot } = partition;
  for (const file of snapshot?.files ?? []) {
    const path = file === snapshot!.checksumFile ? `snapshots/${file.name}` : `snapshots/${snapshot!.id}/${file.name}`;
    files.set(`${partitionDirectory}/${path}`, await readFile(file.source));
  }
  return { kind: 'restored', files };
}

/** Every file below `root` by relative path; anything that is not a regular file is reported as such. */
export async function filesBelow(root: string): Promise<Map<string, Buffer | 'not a regular file'>> {
  const files = new Map<string, Buffer | 'not a regular file'>();
  const walk = async (directory: string): Promise<void> => {
    for (const name of await readdir(directory)) {
      const path = join(directory, name);
      const info = await lstat(path);
      if (info.isDirectory()) await walk(path);
      else files.set(relative(root, path), info.isFile() ? await readFile(path) : 'not a regular file');
    }
  };
  await walk(root);
  return files;
}

/** The differences between restored and expected files, one line each, precise enough to start debugging from. */
export function differences(actual: Map<string, Buffer | 'not a regular file'>, expected: Map<string, Buffer>): string[] {
  const problems: string[] = [];
  for (const [path, want] of expected) {
    const got = actual.get(path);
    if (got === undefined) problems.push(`${path}: missing`);
    else if (!Buffer.isBuffer(got)) problems.push(`${path}: ${got}`);
    else if (!got.equals(want)) problems.push(`${path}: ${describeByteDifference(got, want)}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) problems.push(`${path}: not expected`);
  return problems;
}

function describeByteDifference(got: Buffer, want: Buffer): string {
  const common = Math.min(got.length, want.length);
  const offsets: number[] = [];
  for (let offset = 0; offset < common; offset++) if (got[offset] !== want[offset]) offsets.push(offset);
  const sizes = got.length === want.length ? `${got.length} bytes` : `${got.length} bytes instead of ${want.length}`;
  const shown = offsets.slice(0, 5).map((offset) => `@${offset}: ${got[offset]} instead of ${want[offset]}`);
  return `${sizes}, ${offsets.length} bytes differ${shown.length > 0 ? ` (${shown.join(', ')}${offsets.length > 5 ? ', …' : ''})` : ''}`;
}
