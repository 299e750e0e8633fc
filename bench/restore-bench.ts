/**
 * `npm run bench`: how fast `bin/restore` restores, next to the tools an operator would otherwise
 * use on the same files, in one run on this machine. Medians of several repetitions; every
 * restore runs `bin/restore` as a user would (configured by environment variables, a fresh data
 * directory each time) and must succeed.
 *
 *   1. filesystem store        vs `cp -r` of the backup's files
 *   2. S3 (s3rver, 127.0.0.1)  vs `rclone copy` of the same objects, with as many transfers
 *   3. zstd-compressed S3      vs `rclone copy` then `zstd -d`; and the agent's decompression
 *                              rate vs `zstd -d` alone on the same files
 *   4. shaped S3, raw and zstd vs `rclone copy` at its defaults and with as many transfers (then
 *                              `zstd -d`), s3rver behind bench/shaping-proxy.ts: first-byte latency
 *                              per request and a throughput cap per connection, as real S3 answers
 *   5. one large file, shaped  vs `rclone copy` with and without multi-thread streams (one object
 *                              fetched over several connections), for a backup whose snapshot
 *                              holds one large file of poorly compressible content
 *   6. peak RSS of the agent restoring a 1 GiB and a 4 GiB backup, and of `restore export` writing
 *      each into an archive (from the filesystem store and from zstd S3)
 *   7. start-up: `bin/restore --help`
 *   8. planning, shaped        `restore --dry-run` (every request a restore makes before its first
 *                              transfer) of the raw backup with 300 more snapshot files per
 *                              partition, as large states hold hundreds of SST files, vs `rclone
 *                              lsf -R --fast-list` of the same objects (rclone's listing before its
 *                              first transfer), through the shaping proxy
 * Every run also reports CPU seconds (user + system) per GiB restored, for the agent and every
 * baseline, and the agent's peak RSS; the report ends with which targets are met.
 *
 * Options: --size=<GiB> (2) --repetitions=<n> (3)
 * --only=fs,s3,zstd,s3-shaped,large-file,memory,startup,plan (all)
 * --latency-ms=<ms> (20) --connection-mibps=<MiB/s> (80): the shaping of sections 4, 5 and 8
 * --large-file-size=<GiB> (1): the size of section 5's large file
 * --memory-sizes=<GiB>,<GiB> (1,4): the small and the large backup of section 6
 * --workdir=<dir> ($TMPDIR/zeebe-restore-bench) --agent=<path to bin/restore> (this checkout's)
 * --fs-concurrency=<n> --s3-concurrency=<n> (the agent's defaults, 8 and 16; rclone gets as many).
 * Generated backups stay in the work directory and are reused by later runs. The raw numbers go
 * to bench/results/<timestamp>.json. Page caches are dropped before every timed run when this
 * process may (root); otherwise all runs, agent and baselines alike, start warm, and the table
 * says so.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createZstdCompress } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeFilesystemBackup } from '../dist/demo/filesystem-backup-writer.js';
import { type GeneratedPartition, generatePartition } from './backup-data.ts';
import { startShapingProxy } from './shaping-proxy.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const PARTITIONS = 3;
const BACKUP_ID = 1763683200000n;
/** Brokers compress files strictly larger than this (zeebe.broker.data.backup.s3.compression). */
/**
 * The zstd baseline writes every byte, as the agent does: by default `zstd -d` writes runs of
 * zeros as holes (sparse files), and a broker's preallocated segments are zeros from their last
 * entry on; a restored segment must be allocated like the broker's own (Zeebe preallocates them so
 * that appending never fails for want of space), so the agent cannot skip them.
 */
const ZSTD_DECODE = 'zstd -d -q --no-sparse';
const COMPRESSION_THRESHOLD = 8 * MiB;
const BUCKET = 'bench';
/** Issue 14: no restore may take more memory than this. */
const PEAK_RSS_LIMIT_MIB = 200;
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const sections = ['fs', 's3', 'zstd', 's3-shaped', 'large-file', 'memory', 'startup', 'plan'] as const;
type Section = (typeof sections)[number];

// ---- options and tools --------------------------------------------------------------------

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'];
  }),
);
const sizeGiB = Number(args.size ?? 2);
const repetitions = Number(args.repetitions ?? 3);
const only = new Set((args.only ?? sections.join(',')).split(',') as Section[]);
const workdir = args.workdir ?? join(tmpdir(), 'zeebe-restore-bench');
const agent = args.agent ?? join(projectRoot, 'bin/restore');
const shape = { latencyMs: Number(args['latency-ms'] ?? 20), connectionMiBps: Number(args['connection-mibps'] ?? 80) };
const largeFileGiB = Number(args['large-file-size'] ?? 1);
const [smallMemoryGiB, largeMemoryGiB] = (args['memory-sizes'] ?? '1,4').split(',').map(Number) as [number, number];
for (const section of only) if (!sections.includes(section)) throw new Error(`--only: unknown section ${section}`);

const tools = {
  cp: has('cp', ['--version']),
  rclone: has('rclone', ['version']),
  zstd: has('zstd', ['--version']),
  gnuTime: existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0,
};
const missing = Object.entries({ rclone: tools.rclone, zstd: tools.zstd, time: tools.gnuTime })
  .filter(([, present]) => !present)
  .map(([name]) => name);

function has(command: string, versionArgs: string[]): boolean {
  return spawnSync(command, versionArgs, { stdio: 'ignore' }).status === 0;
}

// ---- measuring ----------------------------------------------------------------------------

interface Run {
  seconds: number;
  /** User + system CPU seconds of the process and of the children it waited for. */
  cpuSeconds?: number;
  peakRssMiB?: number;
  /**
   * Bytes restored, the denominator of CPU time per GiB: the backup's files at their original size
   * (the same for the agent and its baselines, whatever each skips), or the bytes decompressed.
   */
  bytes?: number;
}

const dropCaches = canDropCaches();

function canDropCaches(): boolean {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a timed run cold: dirty pages written, clean ones dropped (when permitted), and the disks
 * left to finish what the previous run and the deletion before this one gave them.
 */
function coldStart(): void {
  execFileSync('sync');
  if (dropCaches) writeFileSync('/proc/sys/vm/drop_caches', '3');
  waitForIdleDisks();
}

/**
 * Waits (at most 20 s) until the block devices have been idle for half a second: nothing in flight,
 * no write or discard completed. Deleting a restored backup (the file system here is mounted with
 * `discard`) and the writeback of the run before otherwise go on during the next run, which pays
 * for them: without this wait, the agent's first run of a section (which followed no rclone
 * restore of the same data) was regularly its fastest by 20 % or more.
 */
function waitForIdleDisks(): void {
  const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  // /proc/diskstats: name, then (from field 4 on) reads, …, writes completed (8), …, I/Os in
  // progress (12), …, discards completed (15).
  const activity = () => {
    let text: string;
    try {
      text = readFileSync('/proc/diskstats', 'utf8');
    } catch {
      return undefined;
    }
    const disks = text
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => /^(sd|vd|xvd|nvme)/.test(fields[2] ?? ''));
    return {
      inFlight: disks.reduce((sum, fields) => sum + Number(fields[11]), 0),
      completed: disks.map((fields) => `${fields[7]}/${fields[14] ?? 0}`).join(' '),
    };
  };
  const deadline = performance.now() + 20_000;
  let before = activity();
  while (before && performance.now() < deadline) {
    sleep(500);
    const now = activity();
    if (!now || (now.inFlight === 0 && now.completed === before.completed)) return;
    before = now;
  }
}

/**
 * Runs a command and measures its wall time and, with GNU time, its CPU time and peak RSS.
 * `bin/restore` is a shell script that execs Node.js, so the process measured is the agent itself.
 */
function timed(
  command: string,
  commandArgs: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ run: Run; stdout: string }> {
  const [file, argv] = tools.gnuTime
    ? ['/usr/bin/time', ['-f', 'BENCH_USAGE rss_kib=%M user=%U sys=%S', command, ...commandArgs]]
    : [command, commandArgs];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv as string[], { env: options.env ?? process.env, cwd: options.cwd ?? workdir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const usage = /BENCH_USAGE rss_kib=(\d+) user=([\d.]+) sys=([\d.]+)/.exec(stderr);
      if (code !== 0) {
        reject(new Error(`${command} ${commandArgs.join(' ')} exited with ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
        return;
      }
      const measured = usage ? { peakRssMiB: Number(usage[1]) / 1024, cpuSeconds: Number(usage[2]) + Number(usage[3]) } : {};
      resolve({ run: { seconds, ...measured }, stdout });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * How far a median can be trusted: half the range of the runs, relative to their median. On a
 * noisy machine two identical runs differ by more than most changes; a verdict closer to its
 * limit than the two sides' spreads together is marked as such (see judge).
 */
function spread(values: number[]): number {
  return values.length < 2 ? 0 : (Math.max(...values) - Math.min(...values)) / 2 / median(values);
}

// ---- the backups --------------------------------------------------------------------------

interface Dataset {
  /** Names its S3 prefixes (`raw-<key>`, `zstd-<key>`). */
  key: string;
  description: string;
  root: string;
  generated: GeneratedPartition[];
  fsStore: string;
  bytes: number;
}

/** A backup of `size` GiB over 3 partitions. */
function dataset(size: number): Promise<Dataset> {
  return generatedBackup({ directory: `backup-${size}GiB`, key: String(size), description: `${size} GiB backup`, partitionBytes: Math.round((size * GiB) / PARTITIONS) });
}

/** 3 partitions as small as the generator makes them, the first one's snapshot with one file of `size` GiB. */
function largeFileDataset(size: number): Promise<Dataset> {
  return generatedBackup({
    directory: `large-file-${size}GiB`,
    key: `large-file-${size}`,
    description: `backup with one ${size} GiB snapshot file`,
    partitionBytes: 0,
    largeFileBytes: Math.round(size * GiB),
  });
}

/** Generates a backup once, into `<workdir>/<directory>`; later runs reuse it. */
async function generatedBackup(plan: { directory: string; key: string; description: string; partitionBytes: number; largeFileBytes?: number }): Promise<Dataset> {
  const root = join(workdir, plan.directory);
  const marker = join(root, 'ready.json');
  const fsStore = join(root, 'fs-store');
  const identity = { key: plan.key, description: plan.description, root, fsStore };
  if (existsSync(marker)) {
    const saved = JSON.parse(await readFile(marker, 'utf8'), (key, value) => (key === 'checkpointPosition' ? BigInt(value) : value));
    return { ...identity, ...saved };
  }
  await rm(root, { recursive: true, force: true });
  console.log(`Generating a ${plan.description} of ${PARTITIONS} partitions (128 MiB segments) in ${root} ...`);
  const generated: GeneratedPartition[] = [];
  for (let partitionId = 1; partitionId <= PARTITIONS; partitionId++) {
    const largeFileBytes = partitionId === 1 ? (plan.largeFileBytes ?? 0) : 0;
    const partition = await generatePartition(join(root, 'generated', String(partitionId)), partitionId, plan.partitionBytes, partitionId, largeFileBytes);
    generated.push(partition);
    await writeFilesystemBackup(fsStore, {
      partitionId,
      checkpointId: BACKUP_ID,
      nodeId: 0,
      descriptor: { snapshotId: partition.snapshotId, checkpointPosition: partition.checkpointPosition, numberOfPartitions: PARTITIONS, brokerVersion: '8.5.4' },
      snapshotFiles: [
        ...partition.snapshotFiles.map((name) => ({ name, source: join(partition.directory, 'snapshots', partition.snapshotId, name) })),
        { name: partition.checksumFile, source: join(partition.directory, 'snapshots', partition.checksumFile) },
      ],
      segmentFiles: partition.segmentFiles.map((name) => ({ name, source: join(partition.directory, name) })),
    });
  }
  const bytes = await treeBytes(fsStore);
  await writeFile(marker, JSON.stringify({ generated, bytes }, (_, value) => (typeof value === 'bigint' ? value.toString() : value)));
  return { ...identity, generated, bytes };
}

/** Every stored file of a partition: where it was generated, its kind and name. */
function filesOf(partition: GeneratedPartition) {
  const snapshotDirectory = join(partition.directory, 'snapshots', partition.snapshotId);
  return [
    ...partition.snapshotFiles.map((name) => ({ kind: 'snapshot' as const, name, path: join(snapshotDirectory, name) })),
    { kind: 'snapshot' as const, name: partition.checksumFile, path: join(partition.directory, 'snapshots', partition.checksumFile) },
    ...partition.segmentFiles.map((name) => ({ kind: 'segments' as const, name, path: join(partition.directory, name) })),
  ];
}

/** Where the zstd variant's compressed copy of a file is kept (it exists only for files over 8 MiB). */
function compressedCopyOf(data: Dataset, partition: GeneratedPartition, file: ReturnType<typeof filesOf>[number]): string {
  return join(data.root, 'zstd-objects', `${partition.partitionId}-${file.kind}-${file.name}.zst`);
}

async function treeBytes(directory: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

// ---- S3: s3rver, uploads as a broker lays them out ----------------------------------------

interface S3Server {
  endpoint: string;
  process: ChildProcess;
  client: S3Client;
}

/** s3rver on 127.0.0.1 at a free port; its directory is kept, so uploads survive for later runs. */
async function startS3rver(): Promise<S3Server> {
  const directory = join(workdir, 's3rver');
  await mkdir(directory, { recursive: true });
  // Without the legacy provider, paginated listings fail with 500 on OpenSSL 3.
  const server = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(projectRoot, 'node_modules/s3rver/bin/s3rver.js'), '-d', directory, '-a', '127.0.0.1', '-p', '0', '--no-vhost-buckets', '--silent'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    server.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // Streamed bodies would otherwise be sent aws-chunked with a checksum trailer, which s3rver
    // stores verbatim, framing and all.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((error: Error) => {
    if (!/BucketAlready/.test(error.name)) throw error;
  });
  return { endpoint, process: server, client };
}

/**
 * A backup as uploaded: every file as it is, or (`zstd`) as a broker with compression on stores it;
 * `raw-many-files`: as `raw`, with PLANNING_EXTRA_FILES small snapshot files more per partition,
 * for planning only (its checksum file does not cover them, so it cannot be restored).
 */
type Variant = 'raw' | 'zstd' | 'raw-many-files';
const PLANNING_EXTRA_FILES = 300;

function prefixOf(data: Dataset, variant: Variant): string {
  return `${variant}-${data.key}`;
}

/**
 * Uploads the backup under `<variant>-<key>/` as an 8.5 broker does: keys `P/C/N/{snapshot,segments}/…`
 * and the 8.5 manifest, with files larger than 8 MiB compressed with zstd (level 3, streamed)
 * for the `zstd` variant. Done once per data set and variant; a marker object records it.
 * Returns the prefix.
 */
async function uploadVariant(s3: S3Server, data: Dataset, variant: Variant): Promise<string> {
  const prefix = prefixOf(data, variant);
  const markerFile = join(workdir, 's3rver', `${prefix}.uploaded`);
  if (existsSync(markerFile)) return prefix;
  console.log(`Uploading the ${data.description} to s3rver under ${prefix}/ ...`);
  for (const partition of data.generated) {
    const base = `${prefix}/${partition.partitionId}/${BACKUP_ID}/0`;
    const fileSets: Record<'snapshot' | 'segments', Record<string, { compressionAlgorithm?: string }>> = { snapshot: {}, segments: {} };
    for (const file of filesOf(partition)) {
      const size = (await stat(file.path)).size;
      let body = file.path;
      const compressed = variant === 'zstd' && size > COMPRESSION_THRESHOLD;
      if (compressed) {
        // Kept: the decompression comparison reads them (zstd level 3, streamed, no content size).
        body = compressedCopyOf(data, partition, file);
        await mkdir(dirname(body), { recursive: true });
        if (!existsSync(body)) await pipeline(createReadStream(file.path), createZstdCompress(), createWriteStream(body));
      }
      await s3.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `${base}/${file.kind}/${file.name}`, Body: createReadStream(body), ContentLength: (await stat(body)).size }),
      );
      fileSets[file.kind][file.name] = compressed ? { compressionAlgorithm: 'zstd' } : {};
    }
    for (let i = 0; variant === 'raw-many-files' && i < PLANNING_EXTRA_FILES; i++) {
      const name = `${String(900_000 + i)}.sst`;
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${base}/snapshot/${name}`, Body: Buffer.alloc(4096, i) }));
      fileSets.snapshot[name] = {};
    }
    const createdAt = Math.floor(Date.now() / 1000);
    const manifest = {
      id: { partitionId: partition.partitionId, checkpointId: JSON.rawJSON(String(BACKUP_ID)), nodeId: 0 },
      descriptor: {
        snapshotId: partition.snapshotId,
        checkpointPosition: JSON.rawJSON(String(partition.checkpointPosition)),
        numberOfPartitions: PARTITIONS,
        brokerVersion: '8.5.4',
      },
      statusCode: 'completed',
      failureReason: null,
      snapshotFiles: { files: fileSets.snapshot },
      segmentFiles: { files: fileSets.segments },
      createdAt: JSON.rawJSON(`${createdAt}.123456789`),
      modifiedAt: JSON.rawJSON(`${createdAt}.123456789`),
    };
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${base}/manifest.json`, Body: JSON.stringify(manifest) }));
  }
  await writeFile(markerFile, '');
  return prefix;
}

// ---- the agent ------------------------------------------------------------------------------

const baseEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  ZEEBE_BROKER_CLUSTER_NODEID: '0',
  ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '1',
  ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: String(PARTITIONS),
  ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '1',
};

function filesystemEnv(data: Dataset): Record<string, string> {
  return { ...baseEnv, ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: data.fsStore };
}

/** The agent's S3 settings; `endpoint` is s3rver's, or the shaping proxy's in front of it. */
function s3Env(endpoint: string, prefix: string): Record<string, string> {
  return {
    ...baseEnv,
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
    ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: BUCKET,
    ZEEBE_BROKER_DATA_BACKUP_S3_BASEPATH: prefix,
    ZEEBE_BROKER_DATA_BACKUP_S3_ENDPOINT: endpoint,
    ZEEBE_BROKER_DATA_BACKUP_S3_REGION: 'us-east-1',
    ZEEBE_BROKER_DATA_BACKUP_S3_FORCEPATHSTYLEACCESS: 'true',
    ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: 'S3RVER',
    ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: 'S3RVER',
  };
}

const output = () => join(workdir, 'out');
/** Every agent restore's peak RSS, for the target that holds in every run. */
const agentPeaksMiB: number[] = [];

/** One restore into a fresh data directory, from a cold cache; it must end with success. */
async function restore(env: Record<string, string>, data: Dataset, extraArgs: string[] = []): Promise<Run> {
  await rm(output(), { recursive: true, force: true });
  coldStart();
  const { run, stdout } = await timed(agent, [`--backupId=${BACKUP_ID}`, ...extraArgs], { env: { ...env, ZEEBE_BROKER_DATA_DIRECTORY: output() } });
  if (!stdout.trimEnd().endsWith(`Successfully restored broker from backup ${BACKUP_ID}`)) {
    throw new Error(`The restore did not succeed:\n${stdout.slice(-3000)}`);
  }
  if (run.peakRssMiB !== undefined) agentPeaksMiB.push(run.peakRssMiB);
  return { ...run, bytes: data.bytes };
}

/** The agent's file transfers at once for a store: its default, or --fs-concurrency/--s3-concurrency. */
function agentConcurrency(store: 'fs' | 's3'): number {
  return Number(args[`${store}-concurrency`] ?? (store === 'fs' ? 8 : 16));
}

/** `--concurrency` for the agent when the benchmark was asked for a non-default one. */
function concurrencyArgs(store: 'fs' | 's3'): string[] {
  return args[`${store}-concurrency`] ? [`--concurrency=${agentConcurrency(store)}`] : [];
}

// ---- results and targets ------------------------------------------------------------------

/** A bound from issue 14 (or an earlier one) on a ratio, or on a measurement itself. */
interface Target {
  bound: '≤' | '≥';
  limit: number;
}

const atMost = (limit: number): Target => ({ bound: '≤', limit });
const atLeast = (limit: number): Target => ({ bound: '≥', limit });

interface BaselineTargets {
  /** On agent ÷ baseline. */
  target?: Target;
  /** On agent ÷ (baseline followed by `sync`). */
  syncedTarget?: Target;
  /** On agent ÷ baseline CPU seconds per GiB. */
  cpuTarget?: Target;
}

interface Baseline extends BaselineTargets {
  name: string;
  runs: Run[];
  /** The same restores followed by `sync`, as the agent makes every file durable and cp and rclone do not. */
  synced: Run[];
}

function baseline(name: string, targets: BaselineTargets = {}): Baseline {
  return { name, runs: [], synced: [], ...targets };
}

interface Comparison {
  name: string;
  /** What is compared: wall time, a rate (higher is better) or peak RSS. */
  metric: 'seconds' | 'MiB/s' | 'peak RSS MiB';
  agent: Run[];
  baselines: Baseline[];
  /** On the agent's own median, where there is nothing to compare with. */
  target?: Target;
}

const results: Comparison[] = [];

function valueOf(run: Run, metric: Comparison['metric']): number {
  if (metric === 'MiB/s') return run.bytes! / MiB / run.seconds;
  if (metric === 'peak RSS MiB') return run.peakRssMiB ?? Number.NaN;
  return run.seconds;
}

/** The median CPU seconds per GiB restored; NaN where runs lack CPU times (no GNU time). */
function cpuPerGiBOfEach(runs: Run[]): number[] | undefined {
  if (!runs.every((run) => run.cpuSeconds !== undefined && run.bytes)) return undefined;
  return runs.map((run) => run.cpuSeconds! / (run.bytes! / GiB));
}

function cpuSecondsPerGiB(runs: Run[]): number {
  const each = cpuPerGiBOfEach(runs);
  return each ? median(each) : Number.NaN;
}

/** The spread of the runs' CPU seconds per GiB; 0 where CPU time was not measured. */
function cpuSpread(runs: Run[]): number {
  const each = cpuPerGiBOfEach(runs);
  return each ? spread(each) : 0;
}

// ---- restores side by side ----------------------------------------------------------------

type Step = () => Promise<Run>;
/** A baseline and the steps of one of its restores. */
type Contender = { baseline: Baseline; steps: Step[] };

/**
 * One baseline restore into a fresh output directory from a cold cache: its steps one after the
 * other, timed together (their CPU times added up), then the same followed by `sync`.
 */
async function baselineRestore(into: Baseline, steps: Step[], data: Dataset): Promise<void> {
  await rm(output(), { recursive: true, force: true });
  coldStart();
  const started = performance.now();
  const parts: Run[] = [];
  for (const step of steps) parts.push(await step());
  const seconds = (performance.now() - started) / 1000;
  execFileSync('sync');
  into.synced.push({ seconds: (performance.now() - started) / 1000 });
  const cpu = parts.every((part) => part.cpuSeconds !== undefined) ? { cpuSeconds: parts.reduce((sum, part) => sum + part.cpuSeconds!, 0) } : {};
  into.runs.push({ seconds, bytes: data.bytes, ...cpu });
}

/**
 * Per repetition the agent's restore and every baseline's (those whose tools are installed): the
 * agent first in odd repetitions, last in even ones, so that no contender always runs right after
 * the same other one.
 */
async function compareRestores(name: string, data: Dataset, agentRestore: Step, baselines: Contender[]): Promise<void> {
  const agentRuns: Run[] = [];
  for (let i = 0; i < repetitions; i++) {
    const runBaselines = async () => {
      for (const { baseline, steps } of baselines) await baselineRestore(baseline, steps, data);
    };
    if (i % 2 === 1) await runBaselines();
    agentRuns.push(await agentRestore());
    if (i % 2 === 0) await runBaselines();
    const times = [`agent ${agentRuns.at(-1)!.seconds.toFixed(2)} s`, ...baselines.map(({ baseline }) => `${baseline.name} ${baseline.runs.at(-1)!.seconds.toFixed(2)} s`)];
    console.log(`  ${name} #${i + 1}: ${times.join(', ')}`);
  }
  results.push({ name, metric: 'seconds', agent: agentRuns, baselines: baselines.map(({ baseline }) => baseline) });
}

function rcloneEnv(endpoint: string): NodeJS.ProcessEnv {
  // A clean environment: the machine's AWS_CA_BUNDLE, say, makes rclone 1.60 refuse plain HTTP.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workdir,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: 'S3RVER',
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
  };
}

/** rclone with as many transfers (and checkers) as the agent's S3 restore. */
function matchedConcurrency(): string[] {
  const transfers = String(agentConcurrency('s3'));
  return ['--transfers', transfers, '--checkers', transfers];
}

/**
 * What an operator would run instead of the agent: `rclone copy` of the variant with `flags` and
 * then, for zstd, `zstd -d` of every object stored compressed, in place, one by one.
 */
function rcloneRestore(endpoint: string, data: Dataset, variant: Variant, flags: string[], targets: BaselineTargets = {}): Contender {
  const name = `rclone copy ${flags.length ? flags.join(' ') : '(its defaults)'}${variant === 'zstd' ? ' + zstd -d' : ''}`;
  // --fast-list: one recursive listing. s3rver answers listings with a delimiter without the
  // deeper prefixes, so rclone's default directory-by-directory walk would find nothing.
  const copy: Step = async () =>
    (await timed('rclone', ['copy', '--fast-list', `bench:${BUCKET}/${prefixOf(data, variant)}`, output(), ...flags], { env: rcloneEnv(endpoint) })).run;
  const decompress: Step = async () =>
    (await timed('sh', ['-c', `for f in "$@"; do ${ZSTD_DECODE} -f "$f" -o "$f.d" && mv "$f.d" "$f" || exit 1; done`, 'sh', ...fetchedCompressedFiles(data)])).run;
  return { baseline: baseline(name, targets), steps: variant === 'zstd' ? [copy, decompress] : [copy] };
}

/** The agent restoring an uploaded variant from `endpoint`, against `rclone` restores of the same objects. */
function compareWithRclone(name: string, endpoint: string, data: Dataset, variant: Variant, rclones: Contender[]): Promise<void> {
  const installed = tools.rclone && (variant === 'raw' || tools.zstd);
  return compareRestores(name, data, () => restore(s3Env(endpoint, prefixOf(data, variant)), data, concurrencyArgs('s3')), installed ? rclones : []);
}

// ---- the sections ---------------------------------------------------------------------------

async function benchFilesystem(data: Dataset): Promise<void> {
  const cp = { baseline: baseline('cp -r', { target: atMost(1.3) }), steps: [async () => (await timed('cp', ['-r', data.fsStore, output()])).run] };
  await compareRestores('filesystem restore', data, () => restore(filesystemEnv(data), data, concurrencyArgs('fs')), tools.cp ? [cp] : []);
}

async function benchS3(s3: S3Server, data: Dataset): Promise<void> {
  await uploadVariant(s3, data, 'raw');
  await compareWithRclone('S3 restore', s3.endpoint, data, 'raw', [
    rcloneRestore(s3.endpoint, data, 'raw', matchedConcurrency(), { target: atMost(1.0), cpuTarget: atMost(1.3) }),
  ]);
}

/** Where rclone put the objects of the zstd variant that are stored compressed. */
function fetchedCompressedFiles(data: Dataset): string[] {
  return data.generated.flatMap((partition) =>
    filesOf(partition).flatMap((file) =>
      existsSync(compressedCopyOf(data, partition, file))
        ? [join(output(), String(partition.partitionId), String(BACKUP_ID), '0', file.kind, file.name)]
        : [],
    ),
  );
}

async function benchZstd(s3: S3Server, data: Dataset): Promise<void> {
  await uploadVariant(s3, data, 'zstd');
  await compareWithRclone('zstd S3 restore', s3.endpoint, data, 'zstd', [
    rcloneRestore(s3.endpoint, data, 'zstd', matchedConcurrency(), { syncedTarget: atMost(1.0), cpuTarget: atMost(1.3) }),
  ]);
  if (tools.zstd) await benchDecompression(data);
}

/**
 * Decompression alone: the same compressed files, read cold, decoded into files in memory
 * (/dev/shm: the disk is measured above). First one stream each, one file after the other; then as
 * many files at once as there are CPUs, as the agent decompresses during a restore, against as
 * many `zstd -d` processes.
 */
async function benchDecompression(data: Dataset): Promise<void> {
  const decodedDirectory = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : workdir, 'zeebe-restore-bench-decoded-'));
  const emptyDirectory = (directory: string) => rm(directory, { recursive: true, force: true }).then(() => mkdir(directory));
  const objects = join(data.root, 'zstd-objects');
  const compressed = (await readdir(objects)).sort().map((name) => join(objects, name));
  let decompressedBytes = 0;
  for (const partition of data.generated) {
    for (const file of filesOf(partition)) {
      if (existsSync(compressedCopyOf(data, partition, file))) decompressedBytes += (await stat(file.path)).size;
    }
  }
  const parallel = cpus().length;
  const oneStream = { agent: [] as Run[], cli: baseline('zstd -d', { target: atLeast(0.8) }) };
  const atOnce = { agent: [] as Run[], cli: baseline(`${parallel} × zstd -d`, { target: atLeast(0.9) }) };
  const zstdCli = async (script: string) => {
    coldStart();
    const run = { ...(await timed('sh', ['-c', script, 'sh', decodedDirectory, ...compressed])).run, bytes: decompressedBytes };
    await emptyDirectory(decodedDirectory);
    return run;
  };
  const agent = (parallel: number) => {
    coldStart();
    const run = agentDecompression(compressed, decodedDirectory, parallel);
    return emptyDirectory(decodedDirectory).then(() => run);
  };
  const rate = (runs: Run[]) => `${valueOf(runs.at(-1)!, 'MiB/s').toFixed(0)} MiB/s`;
  for (let i = 0; i < repetitions; i++) {
    const into = 'out=$1; shift;';
    oneStream.cli.runs.push(await zstdCli(`${into} for f in "$@"; do ${ZSTD_DECODE} -f "$f" -o "$out/$(basename "$f")" || exit 1; done`));
    oneStream.agent.push(await agent(1));
    atOnce.cli.runs.push(
      await zstdCli(`${into} printf '%s\\0' "$@" | xargs -0 -P ${parallel} -n 1 sh -c '${ZSTD_DECODE} -f "$1" -o "$0/$(basename "$1")"' "$out"`),
    );
    atOnce.agent.push(await agent(parallel));
    console.log(
      `  zstd decompression #${i + 1}: agent ${rate(oneStream.agent)}, zstd -d ${rate(oneStream.cli.runs)}; ` +
        `${parallel} at once: agent ${rate(atOnce.agent)}, zstd -d ${rate(atOnce.cli.runs)}`,
    );
  }
  await rm(decodedDirectory, { recursive: true, force: true });
  results.push({ name: 'zstd decompression, 1 stream', metric: 'MiB/s', agent: oneStream.agent, baselines: [oneStream.cli] });
  results.push({ name: `zstd decompression, ${parallel} files at once`, metric: 'MiB/s', agent: atOnce.agent, baselines: [atOnce.cli] });
}

/**
 * The agent's own decoding path, as a restore uses it (from dist/): a decode worker decodes,
 * checks the frames, writes the file and fdatasyncs it, fed by a file stream on the main thread,
 * `parallel` files at once, in a child process of its own; its CPU time is the whole process's,
 * all threads (the workers' included).
 */
function agentDecompression(files: string[], outputDirectory: string, parallel: number): Run {
  const script = `
    import { createReadStream } from 'node:fs';
    import { basename, join } from 'node:path';
    import { pipeline } from 'node:stream/promises';
    import { WorkerDecodingSink } from ${JSON.stringify(join(projectRoot, 'dist/restore/decode-workers.js'))};
    const [files, outputDirectory, parallel] = JSON.parse(process.argv[1]);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    let bytes = 0;
    let next = 0;
    const stream = async () => {
      while (next < files.length) {
        const file = files[next++];
        const sink = new WorkerDecodingSink(join(outputDirectory, basename(file)));
        await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), sink);
        bytes += sink.bytesWritten;
      }
    };
    await Promise.all(Array.from({ length: parallel }, stream));
    const cpu = process.cpuUsage(cpuBefore);
    console.log(JSON.stringify({ bytes, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
  `;
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([files, outputDirectory, parallel])], { encoding: 'utf8' }),
  );
}

/** The raw and the zstd backup through the shaping proxy, against rclone at its defaults and at the agent's concurrency. */
async function benchShapedS3(s3: S3Server, shapedEndpoint: string, data: Dataset): Promise<void> {
  for (const variant of ['raw', 'zstd'] as const) {
    await uploadVariant(s3, data, variant);
    await compareWithRclone(`${variant === 'zstd' ? 'zstd ' : ''}S3 restore, shaped`, shapedEndpoint, data, variant, [
      rcloneRestore(shapedEndpoint, data, variant, [], { target: atMost(0.7) }),
      rcloneRestore(shapedEndpoint, data, variant, matchedConcurrency(), { target: atMost(1.0), cpuTarget: atMost(1.3) }),
    ]);
  }
}

/**
 * The backup with one large snapshot file through the shaping proxy: a single connection's cap
 * decides its time unless the object is fetched in ranges over several connections, as rclone's
 * multi-thread streams do (its defaults: 4 streams for files over 256 MiB; a smaller large file
 * lowers the cut-off to half its size, so that the streams are still used).
 */
async function benchLargeFile(s3: S3Server, shapedEndpoint: string, data: Dataset): Promise<void> {
  await uploadVariant(s3, data, 'raw');
  const cutoffMiB = Math.min(256, Math.floor((largeFileGiB * 1024) / 2));
  await compareWithRclone(`S3 restore, shaped, one ${largeFileGiB} GiB file`, shapedEndpoint, data, 'raw', [
    rcloneRestore(shapedEndpoint, data, 'raw', ['--multi-thread-streams', '4', '--multi-thread-cutoff', `${cutoffMiB}Mi`], { target: atMost(1.0) }),
    rcloneRestore(shapedEndpoint, data, 'raw', ['--multi-thread-streams', '0']),
  ]);
}

/** Peak memory must not grow with the backup: restores and exports of a small and a large backup. */
async function benchMemory(s3: S3Server | undefined): Promise<void> {
  const sizes = `${largeMemoryGiB} vs ${smallMemoryGiB} GiB`;
  for (const store of s3 ? (['fs', 'zstd'] as const) : (['fs'] as const)) {
    const runs = { restore: { small: baseline(`${smallMemoryGiB} GiB backup`, { target: atMost(1.1) }), large: [] as Run[] }, export: { small: baseline(`${smallMemoryGiB} GiB backup`, { target: atMost(1.1) }), large: [] as Run[] } };
    for (const size of [smallMemoryGiB, largeMemoryGiB]) {
      const data = await dataset(size);
      const env = store === 'zstd' ? s3Env(s3!.endpoint, await uploadVariant(s3!, data, 'zstd')) : filesystemEnv(data);
      for (let i = 0; i < repetitions; i++) {
        for (const [kind, run] of [['restore', await restore(env, data)], ['export', await exportArchive(env, data)]] as const) {
          if (size === smallMemoryGiB) runs[kind].small.runs.push(run);
          else runs[kind].large.push(run);
          console.log(`  memory ${kind} ${store} ${size} GiB #${i + 1}: ${run.seconds.toFixed(2)} s, peak RSS ${run.peakRssMiB?.toFixed(0) ?? '?'} MiB`);
        }
      }
    }
    const from = store === 'fs' ? 'filesystem' : 'zstd S3';
    results.push({ name: `peak RSS, ${from}, ${sizes}`, metric: 'peak RSS MiB', agent: runs.restore.large, baselines: [runs.restore.small] });
    results.push({ name: `peak RSS of export, ${from}, ${sizes}`, metric: 'peak RSS MiB', agent: runs.export.large, baselines: [runs.export.small] });
  }
}

/** `restore export` of the backup into an archive in the work directory, removed afterwards; it must succeed. */
async function exportArchive(env: Record<string, string>, data: Dataset): Promise<Run> {
  const archive = join(workdir, 'export.tar');
  await rm(archive, { force: true });
  coldStart();
  const { run } = await timed(agent, ['export', String(BACKUP_ID), `--output=${archive}`], { env });
  await rm(archive);
  return { ...run, bytes: data.bytes };
}

async function benchStartup(): Promise<void> {
  const runs: Run[] = [];
  // Warm: start-up is what an operator sees on a second run; the first run is not counted.
  await timed(agent, ['--help'], { env: baseEnv });
  for (let i = 0; i < Math.max(10, repetitions); i++) runs.push((await timed(agent, ['--help'], { env: baseEnv })).run);
  results.push({ name: 'bin/restore --help', metric: 'seconds', agent: runs, baselines: [], target: atMost(0.3) });
}

/** Section 8: what a restore does before its first transfer, from a store that answers after a latency. */
async function benchPlanning(s3: S3Server, shapedEndpoint: string, data: Dataset): Promise<void> {
  const prefix = await uploadVariant(s3, data, 'raw-many-files');
  await rm(output(), { recursive: true, force: true });
  const agentRuns: Run[] = [];
  const listing = baseline('rclone lsf -R --fast-list');
  for (let i = 0; i < Math.max(5, repetitions); i++) {
    coldStart();
    const env = { ...s3Env(shapedEndpoint, prefix), ZEEBE_BROKER_DATA_DIRECTORY: output() };
    agentRuns.push((await timed(agent, ['--dry-run', `--backupId=${BACKUP_ID}`], { env })).run);
    if (!tools.rclone) continue;
    coldStart();
    listing.runs.push((await timed('rclone', ['lsf', '-R', '--fast-list', `bench:${BUCKET}/${prefix}`], { env: rcloneEnv(shapedEndpoint) })).run);
  }
  const files = data.generated.reduce((sum, partition) => sum + filesOf(partition).length + PLANNING_EXTRA_FILES, 0);
  results.push({ name: `planning, shaped, ${files} files: restore --dry-run`, metric: 'seconds', agent: agentRuns, baselines: [listing] });
}

// ---- report ---------------------------------------------------------------------------------

interface Verdict {
  what: string;
  measured: number;
  target: Target;
  met: boolean;
  /** The runs' spread (both sides') when the measurement lies within it of the limit: met or missed by the machine as much as by the agent. */
  withinSpread?: number;
}

function formatTarget(target: Target, unit = ''): string {
  const limit = Number.isInteger(target.limit) && target.limit < 10 ? target.limit.toFixed(1) : String(target.limit);
  return `${target.bound} ${limit}${unit}`;
}

/**
 * Holds `measured` to `target`, records the verdict, and returns the table's cell for it.
 * `uncertainty` is the measurement's relative spread (see spread).
 */
function judge(verdicts: Verdict[], what: string, measured: number, target: Target | undefined, unit = '', uncertainty = 0): string {
  if (!target) return '';
  if (Number.isNaN(measured)) return `${formatTarget(target, unit)} not measured`;
  const met = target.bound === '≤' ? measured <= target.limit : measured >= target.limit;
  const close = Math.abs(measured / target.limit - 1) <= uncertainty;
  verdicts.push({ what, measured, target, met, ...(close ? { withinSpread: uncertainty } : {}) });
  return `${formatTarget(target, unit)} ${met ? 'met' : 'MISSED'}${close ? '*' : ''}`;
}

const TABLE_HEADER = ['measurement', 'median', 'spread', 'agent ÷ this', 'target', 'CPU s/GiB', 'agent CPU ÷ this', 'agent peak RSS'];

function decimals(value: number, digits: number): string {
  return Number.isNaN(value) ? '-' : value.toFixed(digits);
}

/** A row for the agent, then one for each baseline and for the same followed by `sync`. */
function comparisonRows(result: Comparison, verdicts: Verdict[]): string[][] {
  const unit = { seconds: ' s', 'MiB/s': ' MiB/s', 'peak RSS MiB': ' MiB' }[result.metric];
  const format = (value: number) => `${decimals(value, result.metric === 'seconds' ? 2 : 0)}${unit}`;
  const valuesOf = (runs: Run[]) => runs.map((run) => valueOf(run, result.metric));
  const medianOf = (runs: Run[]) => median(valuesOf(runs));
  const spreadOf = (runs: Run[]) => spread(valuesOf(runs));
  const percent = (fraction: number) => `±${(fraction * 100).toFixed(0)} %`;
  const agentValue = medianOf(result.agent);
  const agentCpu = cpuSecondsPerGiB(result.agent);
  const peaks = result.agent.flatMap((run) => (run.peakRssMiB === undefined ? [] : [run.peakRssMiB]));
  const rows = [
    [
      result.name,
      format(agentValue),
      percent(spreadOf(result.agent)),
      '',
      judge(verdicts, `${result.name}: the agent's median`, agentValue, result.target, unit, spreadOf(result.agent)),
      decimals(agentCpu, 2),
      '',
      peaks.length ? `${median(peaks).toFixed(0)} MiB (max ${Math.max(...peaks).toFixed(0)})` : '',
    ],
  ];
  for (const base of result.baselines.filter((candidate) => candidate.runs.length)) {
    const ratio = agentValue / medianOf(base.runs);
    const timeVerdict = judge(verdicts, `${result.name}: agent ÷ ${base.name}`, ratio, base.target, '', spreadOf(result.agent) + spreadOf(base.runs));
    const cpu = cpuSecondsPerGiB(base.runs);
    const cpuUncertainty = cpuSpread(result.agent) + cpuSpread(base.runs);
    const cpuVerdict = judge(verdicts, `${result.name}: agent CPU per GiB ÷ ${base.name}'s`, agentCpu / cpu, base.cpuTarget, '', cpuUncertainty);
    rows.push([
      `  vs ${base.name}`,
      format(medianOf(base.runs)),
      percent(spreadOf(base.runs)),
      decimals(ratio, 2),
      timeVerdict,
      decimals(cpu, 2),
      `${decimals(agentCpu / cpu, 2)}${cpuVerdict && `  ${cpuVerdict}`}`,
      '',
    ]);
    if (!base.synced.length) continue;
    const syncedRatio = agentValue / medianOf(base.synced);
    const syncedUncertainty = spreadOf(result.agent) + spreadOf(base.synced);
    const syncedVerdict = judge(verdicts, `${result.name}: agent ÷ (${base.name}, then sync)`, syncedRatio, base.syncedTarget, '', syncedUncertainty);
    rows.push([`  vs ${base.name}, then sync`, format(medianOf(base.synced)), percent(spreadOf(base.synced)), decimals(syncedRatio, 2), syncedVerdict, '', '', '']);
  }
  return rows;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log();
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

/** What the numbers were measured on, and how far to trust them. */
function printConditions(datasets: Dataset[], shaping: string): void {
  const backups = datasets.map((data) => `${data.description}: ${(data.bytes / GiB).toFixed(2)} GiB in ${PARTITIONS} partitions; `).join('');
  console.log(
    `\n${backups}${repetitions} repetitions; ${dropCaches ? 'page cache dropped before every run' : 'WARM page cache (not permitted to drop it)'}; ` +
      `${cpus().length} CPUs, ${(totalmem() / GiB).toFixed(0)} GiB RAM.${shaping ? ` Shaped: ${shaping}.` : ''}\n` +
      'Ratios are agent ÷ baseline, of medians (for MiB/s higher is better, so those targets are ≥). CPU s/GiB: user + system CPU ' +
      "seconds per GiB of the backup's files (per GiB decompressed, for decompression alone); a baseline of several steps adds them up. " +
      'Spread: half the range of the runs behind a median, relative to it. A verdict marked * lies closer to its limit than the two ' +
      "sides' spreads together: these runs cannot tell it from the limit.",
  );
  const [loadBefore] = loadAtStart;
  const [loadAfter] = loadavg();
  if (Math.max(loadBefore!, loadAfter!) > cpus().length / 2) {
    console.log(
      `Warning: the machine was busy with other work (1-minute load average ${loadBefore!.toFixed(1)} at the start, ` +
        `${loadAfter!.toFixed(1)} at the end, on ${cpus().length} CPUs): absolute times are inflated and ratios less reliable.`,
    );
  }
}

function printVerdicts(verdicts: Verdict[]): void {
  const met = verdicts.filter((verdict) => verdict.met).length;
  console.log(`\nTargets (issue 14 and earlier): ${met} met, ${verdicts.length - met} missed`);
  for (const verdict of verdicts) {
    const close = verdict.withinSpread === undefined ? '' : ` (* within the runs' spread of ±${(verdict.withinSpread * 100).toFixed(0)} %)`;
    console.log(`  ${verdict.met ? 'met   ' : 'MISSED'}  ${verdict.what}: ${verdict.measured.toFixed(2)}, target ${formatTarget(verdict.target)}${close}`);
  }
}

/** Prints the table, the conditions and every target's verdict; returns the verdicts. */
function report(datasets: Dataset[], shaping: string): Verdict[] {
  const verdicts: Verdict[] = [];
  const rows = [TABLE_HEADER, ...results.flatMap((result) => comparisonRows(result, verdicts))];
  if (agentPeaksMiB.length) {
    judge(verdicts, `peak RSS of every agent restore (the largest of ${agentPeaksMiB.length}), MiB`, Math.max(...agentPeaksMiB), atMost(PEAK_RSS_LIMIT_MIB));
  }
  printTable(rows);
  printConditions(datasets, shaping);
  printVerdicts(verdicts);
  return verdicts;
}

const loadAtStart = loadavg();

async function main(): Promise<void> {
  for (const tool of missing) {
    console.log(`Note: ${tool} is not installed; comparisons that need it are skipped. Install with: apt-get install rclone zstd time`);
  }
  if (!existsSync(join(projectRoot, 'dist/cli/entry.js'))) throw new Error('Run `npm run build` first (npm run bench does).');
  await mkdir(workdir, { recursive: true });
  const shaped = only.has('s3-shaped') || only.has('large-file') || only.has('plan');
  const needsS3 = shaped || only.has('s3') || only.has('zstd') || only.has('memory');
  const data = ['fs', 's3', 'zstd', 's3-shaped', 'plan'].some((section) => only.has(section as Section)) ? await dataset(sizeGiB) : undefined;
  const largeFileData = only.has('large-file') ? await largeFileDataset(largeFileGiB) : undefined;
  const s3 = needsS3 ? await startS3rver() : undefined;
  const proxy = shaped ? await startShapingProxy(s3!.endpoint, { latencyMs: shape.latencyMs, bytesPerSecond: shape.connectionMiBps * MiB }) : undefined;
  try {
    if (only.has('startup')) await benchStartup();
    if (only.has('fs')) await benchFilesystem(data!);
    if (only.has('s3')) await benchS3(s3!, data!);
    if (only.has('zstd')) await benchZstd(s3!, data!);
    if (only.has('s3-shaped')) await benchShapedS3(s3!, proxy!.endpoint, data!);
    if (only.has('large-file')) await benchLargeFile(s3!, proxy!.endpoint, largeFileData!);
    if (only.has('memory')) await benchMemory(s3);
    if (only.has('plan')) await benchPlanning(s3!, proxy!.endpoint, data!);
  } finally {
    await proxy?.close();
    s3?.process.kill();
    await rm(output(), { recursive: true, force: true });
  }
  const datasets = [data, largeFileData].filter((set) => set !== undefined);
  const verdicts = report(datasets, proxy ? `${shape.latencyMs} ms first-byte latency per request, ${shape.connectionMiBps} MiB/s per connection` : '');
  const resultsDirectory = join(projectRoot, 'bench/results');
  await mkdir(resultsDirectory, { recursive: true });
  const file = join(resultsDirectory, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        options: { sizeGiB, repetitions, only: [...only], agent, workdir, shape, largeFileGiB },
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryGiB: totalmem() / GiB, node: process.version },
        loadAverage: { start: loadAtStart, end: loadavg() },
        cacheDropped: dropCaches,
        backups: datasets.map(({ description, bytes }) => ({ description, bytes })),
        tools,
        results,
        agentPeaksMiB,
        verdicts,
      },
      null,
      2,
    ),
  );
  console.log(`Raw numbers: ${file}\nGenerated backups stay in ${workdir} for later runs; delete it when done.`);
}

await main();
