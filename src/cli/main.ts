import yargs, { type Argv } from 'yargs';
import { ExitCode, RestoreError, UsageError } from '../errors.js';
import { createLogger, type LogFormat, type Logger } from '../log/logger.js';
import { LiveProgressDisplay } from '../progress/progress-reporters.js';
import { agentVersion } from './agent-version.js';
import type { CommandContext, GlobalArguments } from './context.js';
import { exitCodeTable } from './exit-codes.js';
import { nodeIdFromHostnameVariable } from './zeebe-image-environment.js';

const restoreExamples = `Examples:
  restore --backupId=1700000000000
      Restore this node from the store the broker's configuration names
      (config/application.yaml under the working directory, and ZEEBE_*/CAMUNDA_* variables).
  restore --backupId=1700000000000,1700000600000,1700001200000
      Zeebe 8.8+: restore a chain of contiguous backups; the log is rebuilt up to the last one.
  restore --from=2026-01-10T13:00:00Z --to=2026-01-10T14:00:00Z --dry-run
      Zeebe 8.9: show which restore point and which backups of each partition a time range selects.
  restore --dry-run
      Zeebe 8.9 with an RDBMS as secondary storage: show the exported position the restored database
      holds for each partition and the backups chosen to continue from it; without --dry-run, restore them.
  restore --backupId=latest --dry-run
      Show what would be restored (partitions, copies, sizes) without writing anything.
  ZEEBE_BROKER_CLUSTER_NODEID=2 restore --backupId=42 --config=/etc/zeebe/application.yaml
      Restore node 2 with an explicit configuration file.
  restore --print-config
      Show every resolved setting, which key set it and where it came from (secrets masked).
  restore list 1700*          restore describe 1700000000000          restore verify latest
  restore export latest --output=backup.tar        restore --backupId=latest --archive=backup.tar
  restore copy latest --to=/etc/zeebe/target-store.yaml

Exit codes:
${exitCodeTable()}`;

/** A command's work, given the configuration and a logger; returns the exit code. */
type CommandRun = (context: CommandContext) => Promise<number>;

interface Invocation {
  logFormat: LogFormat;
  global: GlobalArguments;
  run: CommandRun;
  /** The live progress display, when it is wanted: its logger sinks keep lines apart from it. */
  liveDisplay?: LiveProgressDisplay;
  /** Commands whose stdout is data (tables, JSON) log to stderr, so `| jq` sees only the data. */
  printsData: boolean;
}

export async function main(argv: string[]): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = await parseArguments(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nRun with --help for usage.\n`);
    return ExitCode.usage;
  }
  const sinks = { out: invocation.printsData ? process.stderr : process.stdout, err: process.stderr };
  const log = createLogger(invocation.logFormat, invocation.liveDisplay ? invocation.liveDisplay.wrap(sinks) : sinks);
  try {
    // Loaded only now: `--help` and usage errors need none of the configuration, store or command code.
    const { loadCommandContext } = await import('./context.js');
    return await invocation.run(loadCommandContext(invocation.global, log));
  } catch (error) {
    return report(error, log);
  } finally {
    invocation.liveDisplay?.stop();
  }
}

function globalOptions(parser: Argv) {
  return parser
    .option('config', { type: 'string', describe: 'broker configuration file (default: config/application.yaml under the working directory)' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'log lines for people or for log collectors' })
    .option('node-id-from-hostname', {
      type: 'boolean',
      default: false,
      describe: `derive the node id from the pod name as the Camunda Helm chart does (camunda-zeebe-2 → 2) unless one is set; also ${nodeIdFromHostnameVariable}=true`,
    })
    .option('json', { type: 'boolean', default: false, describe: 'print data as JSON (list, describe, verify, --dry-run)' })
    .option('archive', {
      type: 'string',
      describe: "read the backup from this archive ('restore export') instead of the configured store; a zstd-compressed one is read once",
    });
}

async function parseArguments(argv: string[]): Promise<Invocation> {
  let invocation: Invocation | undefined;
  const parser = globalOptions(yargs(argv))
    .scriptName('restore')
    .usage(
      'Usage: $0 --backupId=<id>[,<id>…] [options]\n       $0 --from=<instant> --to=<instant> [options]\n' +
        '       $0 [--from=<instant>] [--to=<instant>] [options]   (RDBMS secondary storage: follow the database)\n       $0 <list|describe|verify|export|copy> …\n\n' +
        "Restores this Zeebe broker node's data directory from a backup. Run it on every broker node before the broker starts.",
    )
    .command(
      '$0',
      'restore this node from a backup (the default command)',
      (command) =>
        command
          .option('backupId', {
            type: 'string',
            describe: "id of the backup to restore (as given to the backup API), a comma-separated chain of contiguous backups (8.8+), or 'latest'",
          })
          .option('from', { type: 'string', describe: 'time-range restore (8.9): the restored log covers this ISO-8601 instant onwards (with an RDBMS: as Zeebe chooses)' })
          .option('to', {
            type: 'string',
            describe: 'time-range restore (8.9): restore the newest backup checkpoint common to all partitions at or before this instant (with an RDBMS: the one closest to it that covers the database)',
          })
          .option('dry-run', { type: 'boolean', default: false, describe: 'show the plan (partitions, copies, files, sizes) and write nothing' })
          .option('print-config', { type: 'boolean', default: false, describe: 'print the resolved configuration and exit' })
          .option('concurrency', { type: 'number', describe: 'file transfers at once (default: what the store serves well)' })
          .option('progress-interval', { type: 'number', default: 10, describe: 'seconds between progress lines when not on a terminal' })
          .option('work-dir', { type: 'string', describe: "with a compressed --archive: where this node's partitions are kept while they are restored (default: the system temporary directory)" })
          .epilogue(restoreExamples),
      (args) => {
        if (args.concurrency !== undefined && (!Number.isInteger(args.concurrency) || args.concurrency < 1)) {
          throw new UsageError('--concurrency must be a whole number ≥ 1.');
        }
        if (!(args['progress-interval'] > 0)) throw new UsageError('--progress-interval must be a number of seconds > 0.');
        const liveDisplay =
          process.stderr.isTTY && args['log-format'] === 'text' && !args['dry-run'] && !args['print-config']
            ? new LiveProgressDisplay(process.stderr)
            : undefined;
        invocation = {
          ...common(args, args, args['work-dir']),
          ...(liveDisplay ? { liveDisplay } : {}),
          printsData: args['dry-run'] || args['print-config'],
          run: async (context) =>
            (await import('./commands/restore-command.js')).restoreCommand(context, {
              dryRun: args['dry-run'],
              printConfig: args['print-config'],
              json: args.json,
              progressInterval: args['progress-interval'],
              ...(args.concurrency !== undefined ? { concurrency: args.concurrency } : {}),
              ...(liveDisplay ? { liveDisplay } : {}),
            }),
        };
      },
    )
    .command(
      'plan',
      'same as --dry-run: show what a restore would do, write nothing',
      (command) =>
        command
          .option('backupId', { type: 'string', describe: "backup id, a comma-separated chain of backups, or 'latest'" })
          .option('from', { type: 'string', describe: 'time-range restore: ISO-8601 instant the restored log must cover' })
          .option('to', { type: 'string', describe: 'time-range restore: ISO-8601 instant to restore to' })
          .example('$0 plan --backupId=latest', 'what restoring the newest complete backup would do on this node')
          .example('$0 plan --backupId=1763683200000 --json', 'the plan as JSON, for scripts'),
      (args) => {
        invocation = {
          ...common(args, args),
          printsData: true,
          run: async (context) => (await import('./commands/restore-command.js')).restoreCommand(context, { dryRun: true, printConfig: false, json: args.json, progressInterval: 10 }),
        };
      },
    )
    .command(
      'list [pattern]',
      "list the backups in the store with their state, like GET actuator/backups (pattern: an id prefix such as '10*')",
      (command) =>
        command
          .positional('pattern', { type: 'string', describe: "id prefix followed by '*'" })
          .example('$0 list', 'every backup, as a table')
          .example("$0 list '1763*' --json", 'backups whose id starts with 1763, as the management API returns them'),
      (args) => {
        invocation = { ...common(args), printsData: true, run: async (context) => (await import('./commands/backups-command.js')).listCommand(context, args.pattern, args.json) };
      },
    )
    .command(
      'describe <backupId>',
      'show one backup per partition, like GET actuator/backups/{id}',
      (command) =>
        command
          .positional('backupId', { type: 'string', demandOption: true, describe: "backup id or 'latest'" })
          .example('$0 describe 1763683200000', 'state, copy, snapshot and checkpoint of each partition')
          .example('$0 describe latest --json', 'the newest complete backup, in the shape of GET actuator/backups/{id}'),
      (args) => {
        invocation = { ...common(args), printsData: true, run: async (context) => (await import('./commands/backups-command.js')).describeCommand(context, args.backupId, args.json) };
      },
    )
    .command(
      'verify <backupId>',
      'download each partition into a temporary directory and run every check a restore runs; writes nothing to the data directory',
      (command) =>
        command
          .positional('backupId', { type: 'string', demandOption: true, describe: "backup id or 'latest'" })
          .option('partitions', { type: 'array', number: true, describe: 'only these partitions (default: all of the cluster)' })
          .option('work-dir', { type: 'string', describe: 'where to download (default: the system temporary directory)' })
          .option('strict', {
            type: 'boolean',
            default: false,
            describe: "also fail (exit code 5) when a partition's Raft members in the log differ from the configuration's layout",
          })
          .example('$0 verify latest', 'check every partition of the newest complete backup')
          .example('$0 verify 1763683200000 --partitions 1 3', 'check partitions 1 and 3 only')
          .example('$0 verify latest --strict', 'treat Raft members that differ from the configured layout as an error'),
      (args) => {
        invocation = {
          ...common(args, undefined, args['work-dir']),
          printsData: true,
          run: async (context) =>
            (await import('./commands/verify-command.js')).verifyCommand(context, args.backupId, {
              json: args.json,
              strict: args.strict,
              ...(args.partitions ? { partitions: args.partitions.map(Number) } : {}),
              ...(args['work-dir'] ? { workDirectory: args['work-dir'] } : {}),
            }),
        };
      },
    )
    .command(
      'export <backupId>',
      'write a backup into one tar archive (laid out like a filesystem store, with an index of sizes and CRC32Cs), for a restore where no store can be reached',
      (command) =>
        wholeBackupOptions(command)
          .option('output', { type: 'string', demandOption: true, describe: "the archive file to create, or '-' for standard output" })
          .option('compress', { type: 'boolean', default: false, describe: 'compress the archive with zstd' })
          .example('$0 export latest --output=backup.tar', 'the newest complete backup, restorable with --archive=backup.tar')
          .example('$0 export 1763683200000 --output=- --compress | ssh vault "cat > backup.tar.zst"', 'streamed and compressed'),
      (args) => {
        invocation = {
          ...common(args),
          printsData: true,
          run: async (context) =>
            (await import('./commands/export-command.js')).exportCommand(context, args.backupId, {
              output: args.output,
              compress: args.compress,
              allCopies: args['all-copies'],
            }),
        };
      },
    )
    .command(
      'copy <backupId>',
      "copy a backup into the store another broker configuration names, in that store's own layout and manifest format",
      (command) =>
        wholeBackupOptions(command)
          .option('to', { type: 'string', demandOption: true, describe: "the target's broker configuration file (application.yaml); its credentials are read from it alone" })
          .example('$0 copy latest --to=/etc/zeebe/gcs.yaml', 'the newest complete backup into the GCS store that file configures')
          .example('$0 copy 1763683200000 --archive=backup.tar --to=application.yaml', 'from an archive into a store'),
      (args) => {
        invocation = {
          ...common(args),
          printsData: false,
          run: async (context) => (await import('./commands/copy-command.js')).copyCommand(context, args.backupId, { to: args.to, allCopies: args['all-copies'] }),
        };
      },
    )
    .strict()
    .help()
    .version(agentVersion)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(true)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
  await parser.parseAsync();
  if (!invocation) throw new UsageError('No command given.');
  return invocation;
}

/** What export and copy take: the backup, and whether every node's copy of it. */
function wholeBackupOptions<T>(command: Argv<T>) {
  return command
    .positional('backupId', { type: 'string', demandOption: true, describe: "backup id or 'latest'" })
    .option('all-copies', { type: 'boolean', default: false, describe: "every node's copy of each partition, not one completed copy" });
}

/** Options every command shares; what to restore only where a command restores. */
function common(
  args: { config?: string | undefined; archive?: string | undefined; 'log-format': LogFormat; 'node-id-from-hostname': boolean },
  restoring?: { backupId?: string | undefined; from?: string | undefined; to?: string | undefined },
  workDirectory?: string,
) {
  const global: GlobalArguments = { nodeIdFromHostname: args['node-id-from-hostname'] };
  if (args.config !== undefined) global.config = args.config;
  if (args.archive !== undefined) global.archive = args.archive;
  if (workDirectory !== undefined) global.workDirectory = workDirectory;
  if (restoring?.backupId !== undefined) global.backupId = restoring.backupId;
  if (restoring?.from !== undefined) global.from = restoring.from;
  if (restoring?.to !== undefined) global.to = restoring.to;
  return { logFormat: args['log-format'], global };
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
