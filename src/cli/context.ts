import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import type { LoadedConfig } from '../config/restore-config.js';
import { latestCompletedBackup } from '../backups/backup-catalog.js';
import type { Logger } from '../log/logger.js';
import type { BackupStore } from '../store/backup-store.js';
import { openStore } from '../store/open-store.js';
import type { BackupSelector } from './backup-id.js';
import { type CommandLine, zeebeImageEnvironment } from './zeebe-image-environment.js';

export interface GlobalArguments extends CommandLine {
  config?: string;
  /** `--archive=<file>`: read the backup from this archive instead of the configured store. */
  archive?: string;
  /** Where a compressed archive's files are kept while the command runs. */
  workDirectory?: string;
}

export interface CommandContext {
  loaded: LoadedConfig;
  /** The backup id(s) to restore: `--backupId`, else the Zeebe image's variable. */
  backupId?: string;
  /** The time range to restore: `--from`/`--to`, else the Zeebe image's variables. */
  from?: string;
  to?: string;
  /** `--archive`, as an absolute path. */
  archive?: string;
  workDirectory?: string;
  log: Logger;
}

/** Reads the broker configuration the way every command needs it, and says where things came from. */
export function loadCommandContext(args: GlobalArguments, log: Logger): CommandContext {
  // The Zeebe image's ZEEBE_RESTORE_* variables and the Helm chart's node-id rule, applied as they would be.
  const invocation = zeebeImageEnvironment(args, process.env);
  for (const note of invocation.notes) log.info(note);
  const loaded = loadConfig({ cwd: process.cwd(), env: invocation.env, ...(args.config ? { configFile: args.config } : {}) });
  for (const warning of loaded.warnings) log.warn(warning);
  return {
    loaded,
    log,
    ...(invocation.backupId === undefined ? {} : { backupId: invocation.backupId }),
    ...(invocation.from === undefined ? {} : { from: invocation.from }),
    ...(invocation.to === undefined ? {} : { to: invocation.to }),
    ...(args.archive === undefined ? {} : { archive: resolve(args.archive) }),
    ...(args.workDirectory === undefined ? {} : { workDirectory: resolve(args.workDirectory) }),
  };
}

/**
 * Opens the configured store, or the `--archive`, for the duration of `use`. `partitions` are those
 * whose files the command reads: a compressed archive, read once, keeps only theirs.
 */
export async function withStore<T>(context: CommandContext, use: (store: BackupStore) => Promise<T>, partitions: readonly number[] = []): Promise<T> {
  const store = await openStore(
    context.archive === undefined
      ? context.loaded.config.backupStore
      : { type: 'ARCHIVE', path: context.archive, partitions, workDirectory: context.workDirectory ?? tmpdir() },
  );
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

export async function resolveBackupId(selector: BackupSelector, store: BackupStore, context: CommandContext): Promise<bigint> {
  if (selector !== 'latest') return selector;
  const backupId = await latestCompletedBackup(store, context.loaded.config.partitionCount);
  context.log.info(`The latest backup completed for all partitions is ${backupId}.`);
  return backupId;
}
