import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { errnoCode, RestoreError } from '../errors.js';
import { writeFileAtomically } from '../util/atomic-file.js';

/**
 * `<data>/.zeebe-restore.json` records which backup this node was restored from. It is what makes
 * a re-run safe: Kubernetes restarts pods, and an init container that already restored backup X
 * must not fail, nor destroy the broker's data, when it runs again. Zeebe brokers do not read it.
 * It is written just before the restored partitions are moved into place.
 */
export const restoreRecordFileName = '.zeebe-restore.json';

const restoreRecordSchema = z.object({
  /** The backup whose checkpoint the restored logs end at; the only one for a plain restore. */
  backupId: z.string().regex(/^\d+$/),
  /** A chain of backups (`--backupId=a,b,…`, or chosen for `--from/--to`): every backup used, ascending. Absent for one backup. */
  backupIds: z.array(z.string().regex(/^\d+$/)).optional(),
  /** A time-range restore: `--from`/`--to` as ISO-8601 UTC, as asked. */
  from: z.string().optional(),
  to: z.string().optional(),
  /** An RDBMS restore: the exported position per partition the backups were chosen for (64-bit, so strings). */
  exportedPositions: z.record(z.string(), z.string().regex(/^-?\d+$/)).optional(),
  nodeId: z.number().int().nonnegative(),
  partitions: z.array(z.number().int().positive()),
  restoredAt: z.string(),
  agentVersion: z.string(),
});

export type RestoreRecord = z.infer<typeof restoreRecordSchema>;

export function restoreRecordPath(dataDirectory: string): string {
  return join(dataDirectory, restoreRecordFileName);
}

export async function readRestoreRecord(dataDirectory: string): Promise<RestoreRecord | undefined> {
  const path = restoreRecordPath(dataDirectory);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
  try {
    return restoreRecordSchema.parse(JSON.parse(text));
  } catch {
    throw new RestoreError(
      'dataDirectoryNotEmpty',
      `The restore record ${path} is unreadable, so it is unknown what this data directory holds. ` +
        `Aborting restore to avoid overwriting data. Please restart with a clean directory.`,
    );
  }
}

/** `temporary` belongs in the staging area, so a crash mid-write leaves nothing in the data directory. */
export async function writeRestoreRecord(dataDirectory: string, record: RestoreRecord, temporary: string): Promise<void> {
  await writeFileAtomically(restoreRecordPath(dataDirectory), `${JSON.stringify(record, null, 2)}\n`, temporary);
}

export async function removeRestoreRecord(dataDirectory: string): Promise<void> {
  await rm(restoreRecordPath(dataDirectory), { force: true });
}
