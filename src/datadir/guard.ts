import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { asLocalStorageError, errnoCode, RestoreError } from '../errors.js';

export interface DataDirectoryState {
  exists: boolean;
  /** Entries the guard accepted because `ignoreFilesInTarget` names them. */
  ignoredEntries: string[];
}

/**
 * restore-semantics.md §2.1: the data directory must be missing or hold only ignored top-level
 * entries (`lost+found` on a fresh volume, say). It only reads: on refusal nothing has changed.
 */
export async function checkDataDirectory(dataDirectory: string, ignoreFilesInTarget: string[]): Promise<DataDirectoryState> {
  let info;
  try {
    info = await stat(dataDirectory);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      await refuseDanglingLink(dataDirectory);
      return { exists: false, ignoredEntries: [] };
    }
    throw asLocalStorageError(error, 'inspect the data directory', dataDirectory);
  }
  if (!info.isDirectory()) {
    throw new RestoreError(
      'dataDirectoryNotEmpty',
      `Brokers's data directory ${dataDirectory} is not a directory. Aborting restore to avoid overwriting data. ` +
        `Point the data directory setting at a directory, or remove the file.`,
    );
  }
  const entries = await readdir(dataDirectory).catch((error: unknown) => {
    throw asLocalStorageError(error, 'list the data directory', dataDirectory);
  });
  const ignored = new Set(ignoreFilesInTarget);
  const offending = entries.filter((entry) => !ignored.has(entry)).sort();
  if (offending.length > 0) {
    const shown = offending.slice(0, 10).join(', ') + (offending.length > 10 ? `, … (${offending.length} in all)` : '');
    throw new RestoreError(
      'dataDirectoryNotEmpty',
      `Brokers's data directory ${dataDirectory} is not empty. Aborting restore to avoid overwriting data. ` +
        `Please restart with a clean directory. It contains: ${shown}. ` +
        `Entries named in zeebe.restore.ignoreFilesInTarget are allowed (now: ${ignoreFilesInTarget.join(', ') || 'none'}).`,
    );
  }
  return { exists: true, ignoredEntries: entries.sort() };
}

/** A data directory that is a link to nothing is a mount or volume that is missing: never create its target. */
async function refuseDanglingLink(dataDirectory: string): Promise<void> {
  const link = await lstat(dataDirectory).catch(() => undefined);
  if (!link?.isSymbolicLink()) return;
  const target = await readlink(dataDirectory).catch(() => '?');
  throw new RestoreError(
    'localStorage',
    `The data directory ${dataDirectory} is a symbolic link to ${target}, which does not exist. ` +
      `Mount or create the target, or point the data directory setting at a real directory.`,
  );
}
