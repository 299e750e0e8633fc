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
}

export interface CommandContext {
  loaded: LoadedConfig;
  /** The backup id(s) to restore: `--backupId`, else the Zeebe image's variable. */
  backupId?: string;
  /** The time range to restore: `--from`/`--to`, else the Zeebe image's variables. */
  from?: string;
  to?: string;
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
  };
}

/** Opens the configured store for the duration of `use`. */
export async function withStore<T>(context: CommandContext, use: (store: BackupStore) => Promise<T>): Promise<T> {
  const store = await openStore(context.loaded.config.backupStore);
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
