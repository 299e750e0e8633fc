import yargs from 'yargs';
import { loadConfig } from '../config/load-config.js';
import { renderConfig } from '../config/print-config.js';
import { ExitCode, InterruptedError, RestoreError, UsageError } from '../errors.js';
import { createLogger, type LogFormat, type Logger } from '../log/logger.js';
import { restoreBroker } from '../restore/restore-broker.js';
import { openStore } from '../store/open-store.js';
import { formatBytes } from '../util/format.js';
import { agentVersion } from './agent-version.js';
import { parseBackupId } from './backup-id.js';
import { exitCodeTable } from './exit-codes.js';

interface RestoreArguments {
  backupId?: string;
  config?: string;
  logFormat: LogFormat;
  printConfig: boolean;
  concurrency?: number;
}

const usageExamples = `Examples:
  restore --backupId=1700000000000
      Restore this node from the store the broker's configuration names
      (config/application.yaml under the working directory, and ZEEBE_*/CAMUNDA_* variables).
  ZEEBE_BROKER_CLUSTER_NODEID=2 restore --backupId=42 --config=/etc/zeebe/application.yaml
      Restore node 2 with an explicit configuration file.
  restore --print-config
      Show every resolved setting, which key set it and where it came from (secrets masked).

Exit codes:
${exitCodeTable()}`;

export async function main(argv: string[]): Promise<number> {
  let parsed: RestoreArguments;
  try {
    parsed = await parseArguments(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nRun with --help for usage.\n`);
    return ExitCode.usage;
  }
  const log = createLogger(parsed.logFormat);
  try {
    return await runRestore(parsed, log);
  } catch (error) {
    return report(error, log);
  }
}

async function parseArguments(argv: string[]): Promise<RestoreArguments> {
  const parser = yargs(argv)
    .scriptName('restore')
    .usage('Usage: $0 --backupId=<id> [options]\n\nRestores this Zeebe broker node\'s data directory from a backup. Run it on every broker node before the broker starts.')
    .option('backupId', { type: 'string', describe: 'id of the backup to restore (as given to the backup API)' })
    .option('config', { type: 'string', describe: 'broker configuration file (default: config/application.yaml under the working directory)' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'log lines for people or for log collectors' })
    .option('print-config', { type: 'boolean', default: false, describe: 'print the resolved configuration and exit' })
    .option('concurrency', { type: 'number', describe: 'file transfers at once (default: what the store serves well)' })
    .epilogue(usageExamples)
    .strict()
    .help()
    .version(agentVersion)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(true)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
  const args = await parser.parseAsync();
  const result: RestoreArguments = { logFormat: args['log-format'], printConfig: args['print-config'] };
  if (args.backupId !== undefined) result.backupId = args.backupId;
  if (args.config !== undefined) result.config = args.config;
  if (args.concurrency !== undefined) {
    if (!Number.isInteger(args.concurrency) || args.concurrency < 1) throw new UsageError('--concurrency must be a whole number ≥ 1.');
    result.concurrency = args.concurrency;
  }
  return result;
}

async function runRestore(args: RestoreArguments, log: Logger): Promise<number> {
  const options = { cwd: process.cwd(), env: process.env, ...(args.config ? { configFile: args.config } : {}) };
  const loaded = loadConfig(options);
  for (const warning of loaded.warnings) log.warn(warning);
  if (args.printConfig) {
    process.stdout.write(`${renderConfig(loaded)}\n`);
    return ExitCode.success;
  }
  if (args.backupId === undefined) throw new UsageError('Missing required argument: --backupId=<id>.');
  const backupId = parseBackupId(args.backupId);
  const store = await openStore(loaded.config.backupStore);
  const controller = new AbortController();
  const stopOn = (signal: NodeJS.Signals) => () => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    log.warn(`Received ${signal}: stopping and removing what this restore wrote (send it again to exit at once).`);
    controller.abort(new InterruptedError(signal));
  };
  process.on('SIGINT', stopOn('SIGINT'));
  process.on('SIGTERM', stopOn('SIGTERM'));
  try {
    const started = performance.now();
    const outcome = await restoreBroker({
      config: loaded.config,
      backupId,
      store,
      log,
      signal: controller.signal,
      agentVersion,
      ...(args.concurrency ? { concurrency: args.concurrency } : {}),
    });
    if (outcome.kind === 'alreadyRestored') {
      log.info(
        `Backup ${backupId} was already restored on this node at ${outcome.record.restoredAt} ` +
          `(partitions ${outcome.record.partitions.join(', ')}); nothing was changed.`,
        { alreadyRestored: true },
      );
    } else {
      const seconds = (performance.now() - started) / 1000;
      const bytes = outcome.partitions.reduce((sum, result) => sum + result.bytes, 0);
      log.info(
        `Restored partitions ${outcome.partitions.map((result) => result.partitionId).join(', ')}: ${formatBytes(bytes)} in ` +
          `${seconds.toFixed(1)} s (${formatBytes(bytes / Math.max(seconds, 0.001))}/s).`,
        { bytes, seconds: Number(seconds.toFixed(3)) },
      );
    }
    log.info(`Successfully restored broker from backup ${backupId}`, { backupId });
    return ExitCode.success;
  } finally {
    await store.close();
  }
}

function report(error: unknown, log: Logger): number {
  if (error instanceof RestoreError) {
    log.error(error.message, { exitCode: error.exitCode, failure: error.failureClass });
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log.error(`Internal error, please report it with this log: ${detail}`, { exitCode: ExitCode.internal });
  return ExitCode.internal;
}
