import { readdir, stat } from 'node:fs/promises';
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
    if (errnoCode(error) === 'ENOENT') return { exists: false, ignoredEntries: [] };
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
