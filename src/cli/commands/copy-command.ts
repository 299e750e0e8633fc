import { resolve } from 'node:path';
import { loadConfig } from '../../config/load-config.js';
import type { StoreConfig } from '../../config/restore-config.js';
import { ExitCode, UsageError } from '../../errors.js';
import { selectBackup } from '../../portable/backup-selection.js';
import { copyBackup } from '../../portable/copy-backup.js';
import { openWritableStore } from '../../store/open-store.js';
import { formatBytes } from '../../util/format.js';
import { parseBackupSelector } from '../backup-id.js';
import { type CommandContext, resolveBackupId, withStore } from '../context.js';
import { interruptibly } from '../interrupt.js';

/**
 * `copy <backupId|latest> --to=<config file>`: the backup, from the configured store (or
 * `--archive`), into the store another broker configuration names, as its brokers write it (see
 * copy-backup.ts).
 */
export async function copyCommand(context: CommandContext, backupIdArgument: string, options: { to: string; allCopies: boolean }): Promise<number> {
  const { config } = context.loaded;
  const selector = parseBackupSelector(backupIdArgument);
  const targetConfig = targetStoreOf(options.to);
  const partitions = Array.from({ length: config.partitionCount }, (_, i) => i + 1);
  return withStore(context, async (source) => {
    const backupId = await resolveBackupId(selector, source, context);
    const selection = await selectBackup(source, config, backupId, { allCopies: options.allCopies, metadata: false }, context.log);
    const target = await openWritableStore(targetConfig);
    try {
      context.log.info(`Copying backup ${backupId} from the ${source.description} to the ${target.store.description}.`);
      const result = await interruptibly(context.log, 'leaving the files copied so far without manifests', (signal) =>
        copyBackup(source, selection, target, { log: context.log, signal }),
      );
      context.log.info(
        result.manifests === 0
          ? `The ${target.store.description} already holds backup ${backupId} as this copy writes it; nothing was written.`
          : `Copied backup ${backupId} to the ${target.store.description}: ${result.files} files, ${formatBytes(result.bytes)}, ` +
              `${result.manifests} manifests written last; every object read back and verified.`,
      );
      return ExitCode.success;
    } finally {
      await target.store.close();
    }
  }, partitions);
}

/**
 * The target store, from the target's configuration file alone: the environment's broker
 * settings (ZEEBE_*, CAMUNDA_*, SPRING_CONFIG_*) describe the source, and its credentials must
 * never reach the target. Placeholders in the file may name any other variable.
 */
function targetStoreOf(file: string): Exclude<StoreConfig, { type: 'NONE' }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(ZEEBE_|CAMUNDA_|SPRING_CONFIG_)/i.test(name)));
  let backupStore: StoreConfig;
  try {
    backupStore = loadConfig({ cwd: process.cwd(), env, configFile: resolve(file) }).config.backupStore;
  } catch (error) {
    throw error instanceof UsageError ? new UsageError(`--to=${file}: ${error.message}`) : error;
  }
  if (backupStore.type === 'NONE') {
    throw new UsageError(`--to=${file} configures no backup store: set zeebe.broker.data.backup.store (or camunda.data.backup.store) and its settings there.`);
  }
  return backupStore;
}
