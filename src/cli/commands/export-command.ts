import { createWriteStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createZstdCompress } from 'node:zlib';
import { asLocalStorageError, ExitCode, RestoreError, UsageError } from '../../errors.js';
import { selectBackup } from '../../portable/backup-selection.js';
import { exportBackup } from '../../portable/export-backup.js';
import { ArchiveWriter } from '../../store/archive-writer.js';
import { formatBytes } from '../../util/format.js';
import { fsyncDirectory } from '../../util/fsync.js';
import { peakResidentBytes } from '../../util/peak-memory.js';
import { agentVersion } from '../agent-version.js';
import { parseBackupSelector } from '../backup-id.js';
import { type CommandContext, resolveBackupId, withStore } from '../context.js';
import { interruptibly } from '../interrupt.js';
import { requireCommonJs } from '../../util/common-js.js';

const { pathExists, remove } = requireCommonJs('fs-extra') as typeof import('fs-extra');

export interface ExportOptions {
  /** A file, or `-` for standard output. */
  output: string;
  compress: boolean;
  allCopies: boolean;
}

/**
 * `export <backupId|latest> --output=<file.tar>`: one archive holding the backup (see
 * export-backup.ts), for a store that cannot be reached from where it is restored. A file is
 * written beside its name and renamed when complete, so an interrupted export leaves no archive.
 */
export async function exportCommand(context: CommandContext, backupIdArgument: string, options: ExportOptions): Promise<number> {
  const { config } = context.loaded;
  const selector = parseBackupSelector(backupIdArgument);
  const toStdout = options.output === '-';
  if (toStdout && process.stdout.isTTY) throw new UsageError('--output=- writes the archive to standard output, which is a terminal: redirect it to a file or a pipe.');
  if (!toStdout && (await pathExists(options.output))) throw new UsageError(`--output=${options.output} exists already; export into a new file.`);
  const partitions = Array.from({ length: config.partitionCount }, (_, i) => i + 1);
  return withStore(context, async (store) => {
    const backupId = await resolveBackupId(selector, store, context);
    const selection = await selectBackup(store, config, backupId, { allCopies: options.allCopies, metadata: true }, context.log);
    const partial = `${options.output}.partial`;
    const destination: Writable = toStdout ? process.stdout : createWriteStream(partial, { flags: 'wx' });
    const compressor = options.compress ? createZstdCompress() : undefined;
    const written = compressor ? pipeline(compressor, destination) : finished(destination);
    written.catch(() => undefined);
    try {
      const result = await interruptibly(context.log, 'removing the partial archive', (signal) =>
        exportBackup(store, selection, new ArchiveWriter(compressor ?? destination), { log: context.log, signal, createdBy: `zeebe-restore-agent ${agentVersion}` }),
      );
      await written.catch((error: unknown) => {
        throw asLocalStorageError(error, 'write', toStdout ? 'standard output' : partial);
      });
      if (!toStdout) await makeDurable(partial, options.output);
      const peakMemoryBytes = peakResidentBytes();
      context.log.info(
        `Wrote backup ${backupId} (${selection.copies.length} ${selection.copies.length === 1 ? 'copy' : 'copies'} of ${partitions.length} partitions, ` +
          `${result.files} files, ${formatBytes(result.bytes)}) to ${toStdout ? 'standard output' : options.output}${options.compress ? ', zstd-compressed' : ''}; ` +
          `peak memory ${formatBytes(peakMemoryBytes)}.`,
        { peakMemoryBytes },
      );
      return ExitCode.success;
    } catch (error) {
      destination.destroy();
      if (!toStdout) await remove(partial);
      throw error instanceof RestoreError ? error : asLocalStorageError(error, 'write', toStdout ? 'standard output' : partial);
    }
  }, partitions);
}

async function makeDurable(partial: string, output: string): Promise<void> {
  try {
    const handle = await open(partial, 'r+');
    await handle.datasync().finally(() => handle.close());
    await rename(partial, output);
    await fsyncDirectory(dirname(output));
  } catch (error) {
    throw asLocalStorageError(error, 'finish', output);
  }
}
