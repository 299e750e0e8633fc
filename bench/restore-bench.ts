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
 *   4. peak RSS of the agent restoring a 1 GiB and a 4 GiB backup
 *   5. start-up: `bin/restore --help`
 *
 * Options: --size=<GiB> (2) --repetitions=<n> (3) --only=fs,s3,zstd,memory,startup
 * --workdir=<dir> ($TMPDIR/zeebe-restore-bench) --agent=<path to bin/restore> (this checkout's)
 * --fs-concurrency=<n> --s3-concurrency=<n> (the agent's defaults, 8 and 16; rclone gets as many).
 * Generated backups stay in the work directory and are reused by later runs. The raw numbers go
 * to bench/results/<timestamp>.json. Page caches are dropped before every timed run when this
 * process may (root); otherwise all runs, agent and baselines alike, start warm, and the table
 * says so.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createZstdCompress } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeFilesystemBackup } from '../dist/demo/filesystem-backup-writer.js';
import { type GeneratedPartition, generatePartition } from './backup-data.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const PARTITIONS = 3;
const BACKUP_ID = 1763683200000n;
/** Brokers compress files strictly larger than this (zeebe.broker.data.backup.s3.compression). */
const COMPRESSION_THRESHOLD = 8 * MiB;
const BUCKET = 'bench';
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const sections = ['fs', 's3', 'zstd', 'memory', 'startup'] as const;
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
  peakRssMiB?: number;
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

/** Starts a timed run cold: dirty pages written, then clean ones dropped (when permitted). */
function coldStart(): void {
  execFileSync('sync');
  if (dropCaches) writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/**
 * Runs a command and measures its wall time and, with GNU time, its peak RSS. `bin/restore` is a
 * shell script that execs Node.js, so the process measured is the agent itself.
 */
function timed(command: string, commandArgs: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run & { stdout: string }> {
  const [file, argv] = tools.gnuTime ? ['/usr/bin/time', ['-f', 'PEAK_RSS_KIB=%M', command, ...commandArgs]] : [command, commandArgs];
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
      const peak = /PEAK_RSS_KIB=(\d+)/.exec(stderr);
      if (code !== 0) {
        reject(new Error(`${command} ${commandArgs.join(' ')} exited with ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
        return;
      }
      resolve({ seconds, stdout, ...(peak ? { peakRssMiB: Number(peak[1]) / 1024 } : {}) });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ---- the backup ---------------------------------------------------------------------------

interface Dataset {
  sizeGiB: number;
  root: string;
  generated: GeneratedPartition[];
  fsStore: string;
  bytes: number;
}

/** Generates a backup of `size` GiB over 3 partitions once; later runs reuse it. */
async function dataset(size: number): Promise<Dataset> {
  const root = join(workdir, `backup-${size}GiB`);
  const marker = join(root, 'ready.json');
  const fsStore = join(root, 'fs-store');
  if (existsSync(marker)) {
    const saved = JSON.parse(await readFile(marker, 'utf8'), (key, value) => (key === 'checkpointPosition' ? BigInt(value) : value));
    return { sizeGiB: size, root, fsStore, ...saved };
  }
  await rm(root, { recursive: true, force: true });
  console.log(`Generating a ${size} GiB backup of ${PARTITIONS} partitions (128 MiB segments) in ${root} ...`);
  const generated: GeneratedPartition[] = [];
  for (let partitionId = 1; partitionId <= PARTITIONS; partitionId++) {
    const partition = await generatePartition(join(root, 'generated', String(partitionId)), partitionId, Math.round((size * GiB) / PARTITIONS), partitionId);
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
  return { sizeGiB: size, root, generated, fsStore, bytes };
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
 * Uploads the backup under `<prefix>/` as an 8.5 broker does: keys `P/C/N/{snapshot,segments}/…`
 * and the 8.5 manifest, with files larger than 8 MiB compressed with zstd (level 3, streamed)
 * when `compress` is set. Done once per data set and variant; a marker object records it.
 */
async function uploadVariant(s3: S3Server, data: Dataset, prefix: string, compress: boolean): Promise<void> {
  const markerFile = join(workdir, 's3rver', `${prefix}.uploaded`);
  if (existsSync(markerFile)) return;
  console.log(`Uploading the ${data.sizeGiB} GiB backup to s3rver under ${prefix}/ (${compress ? 'zstd' : 'uncompressed'}) ...`);
  for (const partition of data.generated) {
    const base = `${prefix}/${partition.partitionId}/${BACKUP_ID}/0`;
    const fileSets: Record<'snapshot' | 'segments', Record<string, { compressionAlgorithm?: string }>> = { snapshot: {}, segments: {} };
    for (const file of filesOf(partition)) {
      const size = (await stat(file.path)).size;
      let body = file.path;
      const compressed = compress && size > COMPRESSION_THRESHOLD;
      if (compressed) {
        // Kept: the decompression comparison reads them (zstd level 3, streamed, no content size).
        body = join(data.root, 'zstd-objects', `${partition.partitionId}-${file.kind}-${file.name}.zst`);
        await mkdir(dirname(body), { recursive: true });
        if (!existsSync(body)) await pipeline(createReadStream(file.path), createZstdCompress(), createWriteStream(body));
      }
      await s3.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `${base}/${file.kind}/${file.name}`, Body: createReadStream(body), ContentLength: (await stat(body)).size }),
      );
      fileSets[file.kind][file.name] = compressed ? { compressionAlgorithm: 'zstd' } : {};
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

function s3Env(s3: S3Server, prefix: string): Record<string, string> {
  return {
    ...baseEnv,
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
    ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: BUCKET,
    ZEEBE_BROKER_DATA_BACKUP_S3_BASEPATH: prefix,
    ZEEBE_BROKER_DATA_BACKUP_S3_ENDPOINT: s3.endpoint,
    ZEEBE_BROKER_DATA_BACKUP_S3_REGION: 'us-east-1',
    ZEEBE_BROKER_DATA_BACKUP_S3_FORCEPATHSTYLEACCESS: 'true',
    ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: 'S3RVER',
    ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: 'S3RVER',
  };
}

const output = () => join(workdir, 'out');

/** One restore into a fresh data directory, from a cold cache; it must end with success. */
async function restore(env: Record<string, string>, extraArgs: string[] = []): Promise<Run> {
  await rm(output(), { recursive: true, force: true });
  coldStart();
  const run = await timed(agent, [`--backupId=${BACKUP_ID}`, ...extraArgs], { env: { ...env, ZEEBE_BROKER_DATA_DIRECTORY: output() } });
  if (!run.stdout.trimEnd().endsWith(`Successfully restored broker from backup ${BACKUP_ID}`)) {
    throw new Error(`The restore did not succeed:\n${run.stdout.slice(-3000)}`);
  }
  return { seconds: run.seconds, ...(run.peakRssMiB ? { peakRssMiB: run.peakRssMiB } : {}) };
}

/** The agent's file transfers at once for a store: its default, or --fs-concurrency/--s3-concurrency. */
function agentConcurrency(store: 'fs' | 's3'): number {
  return Number(args[`${store}-concurrency`] ?? (store === 'fs' ? 8 : 16));
}

/** `--concurrency` for the agent when the benchmark was asked for a non-default one. */
function concurrencyArgs(store: 'fs' | 's3'): string[] {
  return args[`${store}-concurrency`] ? [`--concurrency=${agentConcurrency(store)}`] : [];
}

// ---- the sections ---------------------------------------------------------------------------

interface Comparison {
  name: string;
  agent: Run[];
  baseline?: { name: string; runs: Run[]; note?: string };
  /** The same baseline followed by `sync`, as the agent makes its files durable and cp does not. */
  baselineSynced?: Run[];
  target?: string;
  extra?: Record<string, unknown>;
}

const results: Comparison[] = [];

async function benchFilesystem(data: Dataset): Promise<void> {
  const agentRuns: Run[] = [];
  const cpRuns: Run[] = [];
  const cpSynced: Run[] = [];
  for (let i = 0; i < repetitions; i++) {
    agentRuns.push(await restore(filesystemEnv(data), concurrencyArgs('fs')));
    if (tools.cp) {
      await rm(output(), { recursive: true, force: true });
      coldStart();
      const started = performance.now();
      const run = await timed('cp', ['-r', data.fsStore, output()]);
      execFileSync('sync');
      cpRuns.push(run);
      cpSynced.push({ seconds: (performance.now() - started) / 1000 });
    }
    console.log(`  fs #${i + 1}: agent ${agentRuns.at(-1)!.seconds.toFixed(2)} s, cp -r ${cpRuns.at(-1)?.seconds.toFixed(2) ?? '-'} s`);
  }
  results.push({
    name: 'filesystem restore',
    agent: agentRuns,
    ...(tools.cp ? { baseline: { name: 'cp -r', runs: cpRuns }, baselineSynced: cpSynced } : {}),
    target: '≤ 1.3',
  });
}

function rcloneEnv(s3: S3Server): NodeJS.ProcessEnv {
  // A clean environment: the machine's AWS_CA_BUNDLE, say, makes rclone 1.60 refuse plain HTTP.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workdir,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: 'S3RVER',
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
  };
}

function rclone(s3: S3Server, prefix: string): Promise<Run> {
  const transfers = String(agentConcurrency('s3'));
  // --fast-list: one recursive listing. s3rver answers listings with a delimiter without the
  // deeper prefixes, so rclone's default directory-by-directory walk would find nothing.
  return timed('rclone', ['copy', '--fast-list', `bench:${BUCKET}/${prefix}`, output(), '--transfers', transfers, '--checkers', transfers], {
    env: rcloneEnv(s3),
  });
}

async function benchS3(s3: S3Server, data: Dataset): Promise<void> {
  const prefix = `raw-${data.sizeGiB}`;
  await uploadVariant(s3, data, prefix, false);
  const agentRuns: Run[] = [];
  const rcloneRuns: Run[] = [];
  const rcloneSynced: Run[] = [];
  for (let i = 0; i < repetitions; i++) {
    agentRuns.push(await restore(s3Env(s3, prefix), concurrencyArgs('s3')));
    if (tools.rclone) {
      await rm(output(), { recursive: true, force: true });
      coldStart();
      const started = performance.now();
      rcloneRuns.push(await rclone(s3, prefix));
      execFileSync('sync');
      rcloneSynced.push({ seconds: (performance.now() - started) / 1000 });
    }
    console.log(`  s3 #${i + 1}: agent ${agentRuns.at(-1)!.seconds.toFixed(2)} s, rclone ${rcloneRuns.at(-1)?.seconds.toFixed(2) ?? '-'} s`);
  }
  results.push({
    name: 'S3 restore',
    agent: agentRuns,
    ...(tools.rclone
      ? { baseline: { name: `rclone copy --transfers ${agentConcurrency('s3')}`, runs: rcloneRuns }, baselineSynced: rcloneSynced }
      : {}),
    target: '≤ 1.0',
  });
}

/** Where rclone put the objects of the zstd variant that are stored compressed. */
function fetchedCompressedFiles(data: Dataset): string[] {
  return data.generated.flatMap((partition) =>
    filesOf(partition).flatMap((file) =>
      existsSync(join(data.root, 'zstd-objects', `${partition.partitionId}-${file.kind}-${file.name}.zst`))
        ? [join(output(), String(partition.partitionId), String(BACKUP_ID), '0', file.kind, file.name)]
        : [],
    ),
  );
}

async function benchZstd(s3: S3Server, data: Dataset): Promise<void> {
  const prefix = `zstd-${data.sizeGiB}`;
  await uploadVariant(s3, data, prefix, true);
  const objects = join(data.root, 'zstd-objects');
  const compressed = (await readdir(objects)).sort().map((name) => join(objects, name));
  let decompressedBytes = 0;
  for (const partition of data.generated) {
    for (const file of filesOf(partition)) {
      if (existsSync(join(objects, `${partition.partitionId}-${file.kind}-${file.name}.zst`))) decompressedBytes += (await stat(file.path)).size;
    }
  }
  const agentRuns: Run[] = [];
  const baselineRuns: Run[] = [];
  const baselineSynced: Run[] = [];
  const cliRates: number[] = [];
  const agentRates: number[] = [];
  const parallelCliRates: number[] = [];
  const parallelAgentRates: number[] = [];
  const canCompare = tools.rclone && tools.zstd;
  for (let i = 0; i < repetitions; i++) {
    agentRuns.push(await restore(s3Env(s3, prefix), concurrencyArgs('s3')));
    if (canCompare) {
      await rm(output(), { recursive: true, force: true });
      coldStart();
      const started = performance.now();
      await rclone(s3, prefix);
      // What an operator would script: zstd -d every compressed object in place, one by one.
      const loop = 'for f in "$@"; do zstd -d -q -f "$f" -o "$f.d" && mv "$f.d" "$f" || exit 1; done';
      await timed('sh', ['-c', loop, 'sh', ...fetchedCompressedFiles(data)]);
      baselineRuns.push({ seconds: (performance.now() - started) / 1000 });
      execFileSync('sync');
      baselineSynced.push({ seconds: (performance.now() - started) / 1000 });
    }
    if (tools.zstd) {
      // Decompression alone: the same compressed files, read cold, output discarded (the disk is
      // measured above). First one stream each, one file after the other; then as many files at
      // once as there are CPUs, as the agent decompresses during a restore (on libuv's pool),
      // against as many zstd -d processes.
      coldStart();
      const cli = await timed('sh', ['-c', 'zstd -d -q -c "$@" > /dev/null', 'sh', ...compressed]);
      cliRates.push(decompressedBytes / MiB / cli.seconds);
      coldStart();
      agentRates.push(agentDecompressionRate(compressed, 1));
      coldStart();
      const parallelCli = await timed('sh', [
        '-c',
        `printf '%s\\0' "$@" | xargs -0 -P ${cpus().length} -n 1 sh -c 'zstd -d -q -c "$0" > /dev/null'`,
        'sh',
        ...compressed,
      ]);
      parallelCliRates.push(decompressedBytes / MiB / parallelCli.seconds);
      coldStart();
      parallelAgentRates.push(agentDecompressionRate(compressed, cpus().length));
    }
    console.log(
      `  zstd #${i + 1}: agent ${agentRuns.at(-1)!.seconds.toFixed(2)} s, rclone + zstd -d ${baselineRuns.at(-1)?.seconds.toFixed(2) ?? '-'} s; ` +
        `decompression: agent ${agentRates.at(-1)?.toFixed(0) ?? '-'} MiB/s, zstd -d ${cliRates.at(-1)?.toFixed(0) ?? '-'} MiB/s; ` +
        `${cpus().length} at once: agent ${parallelAgentRates.at(-1)?.toFixed(0) ?? '-'} MiB/s, zstd -d ${parallelCliRates.at(-1)?.toFixed(0) ?? '-'} MiB/s`,
    );
  }
  results.push({
    name: 'zstd S3 restore',
    agent: agentRuns,
    ...(canCompare ? { baseline: { name: 'rclone copy + zstd -d', runs: baselineRuns }, baselineSynced } : {}),
    target: '≤ 1.0',
  });
  if (tools.zstd) {
    results.push({
      name: 'zstd decompression MiB/s, 1 stream (higher is better)',
      agent: agentRates.map((rate) => ({ seconds: rate })),
      baseline: { name: 'zstd -d', runs: cliRates.map((rate) => ({ seconds: rate })) },
      target: '≥ 0.75',
    });
    results.push({
      name: `zstd decompression MiB/s, ${cpus().length} files at once`,
      agent: parallelAgentRates.map((rate) => ({ seconds: rate })),
      baseline: { name: `${cpus().length} × zstd -d`, runs: parallelCliRates.map((rate) => ({ seconds: rate })) },
    });
  }
}

/**
 * The agent's own decompressor, as the restore creates it (the compression registry from dist/),
 * on the same compressed files as `zstd -d`, `parallel` files at once, output discarded, in a
 * child process of its own. Returns decompressed MiB/s.
 */
function agentDecompressionRate(files: string[], parallel: number): number {
  const script = `
    import { createReadStream } from 'node:fs';
    import { Writable } from 'node:stream';
    import { pipeline } from 'node:stream/promises';
    import { decompressionFor } from ${JSON.stringify(join(projectRoot, 'dist/compression/registry.js'))};
    const [files, parallel] = JSON.parse(process.argv[1]);
    const started = performance.now();
    let bytes = 0;
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const file = files[next++];
        const discard = new Writable({ write(chunk, _encoding, callback) { bytes += chunk.length; callback(); } });
        await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), decompressionFor('zstd', file), discard);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    console.log(JSON.stringify({ bytes, seconds: (performance.now() - started) / 1000 }));
  `;
  const result = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([files, parallel])], { encoding: 'utf8' }),
  );
  return result.bytes / MiB / result.seconds;
}

async function benchMemory(s3: S3Server | undefined): Promise<void> {
  for (const store of s3 ? (['fs', 'zstd'] as const) : (['fs'] as const)) {
    const peaks: Record<string, number[]> = {};
    for (const size of [1, 4]) {
      const data = await dataset(size);
      let env = filesystemEnv(data);
      if (store === 'zstd') {
        await uploadVariant(s3!, data, `zstd-${size}`, true);
        env = s3Env(s3!, `zstd-${size}`);
      }
      peaks[size] = [];
      for (let i = 0; i < repetitions; i++) {
        const run = await restore(env);
        peaks[size].push(run.peakRssMiB ?? NaN);
        console.log(`  memory ${store} ${size} GiB #${i + 1}: ${run.seconds.toFixed(2)} s, peak RSS ${run.peakRssMiB?.toFixed(0) ?? '?'} MiB`);
      }
    }
    results.push({
      name: `peak RSS MiB, ${store === 'fs' ? 'filesystem' : 'zstd S3'} (4 GiB vs 1 GiB)`,
      agent: peaks[4]!.map((peak) => ({ seconds: peak })),
      baseline: { name: '1 GiB backup', runs: peaks[1]!.map((peak) => ({ seconds: peak })) },
      target: '≤ 1.1, and ≤ 200 MiB',
    });
  }
}

async function benchStartup(): Promise<void> {
  const runs: Run[] = [];
  // Warm: start-up is what an operator sees on a second run; the first run is not counted.
  await timed(agent, ['--help'], { env: baseEnv });
  for (let i = 0; i < Math.max(10, repetitions); i++) runs.push(await timed(agent, ['--help'], { env: baseEnv }));
  results.push({ name: 'bin/restore --help, seconds', agent: runs, target: '≤ 0.3 s' });
}

// ---- report ---------------------------------------------------------------------------------

function report(data: Dataset | undefined): void {
  const rows: string[][] = [['measurement', 'agent (median)', 'baseline (median)', 'ratio', 'target', 'agent peak RSS']];
  for (const result of results) {
    const agentMedian = median(result.agent.map((run) => run.seconds));
    const baselineMedian = result.baseline?.runs.length ? median(result.baseline.runs.map((run) => run.seconds)) : undefined;
    const peaks = result.agent.map((run) => run.peakRssMiB).filter((peak): peak is number => peak !== undefined);
    const isRate = result.name.includes('MiB');
    const unit = result.name.includes('MiB/s') ? ' MiB/s' : result.name.includes('RSS') ? ' MiB' : ' s';
    const format = (value: number) => `${value.toFixed(isRate ? 0 : 2)}${unit}`;
    rows.push([
      result.name,
      format(agentMedian),
      baselineMedian === undefined ? 'skipped' : `${format(baselineMedian)} (${result.baseline!.name})`,
      baselineMedian === undefined ? '' : (agentMedian / baselineMedian).toFixed(2),
      result.target ?? '',
      peaks.length ? `${median(peaks).toFixed(0)} MiB` : '',
    ]);
    if (result.baselineSynced?.length) {
      const synced = median(result.baselineSynced.map((run) => run.seconds));
      rows.push([`  same, baseline followed by sync`, '', format(synced), (agentMedian / synced).toFixed(2), '', '']);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log();
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
  console.log(
    `\nBackup: ${data ? `${(data.bytes / GiB).toFixed(2)} GiB in ${PARTITIONS} partitions` : '-'}; ${repetitions} repetitions; ` +
      `${dropCaches ? 'page cache dropped before every run' : 'WARM page cache (not permitted to drop it)'}; ` +
      `${cpus().length} CPUs, ${(totalmem() / GiB).toFixed(0)} GiB RAM. Ratios are agent / baseline (for rates, agent / zstd).`,
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

const loadAtStart = loadavg();

async function main(): Promise<void> {
  for (const tool of missing) {
    console.log(`Note: ${tool} is not installed; comparisons that need it are skipped. Install with: apt-get install rclone zstd time`);
  }
  if (!existsSync(join(projectRoot, 'dist/cli/entry.js'))) throw new Error('Run `npm run build` first (npm run bench does).');
  await mkdir(workdir, { recursive: true });
  const needsS3 = only.has('s3') || only.has('zstd') || only.has('memory');
  const data = only.has('fs') || only.has('s3') || only.has('zstd') ? await dataset(sizeGiB) : undefined;
  const s3 = needsS3 ? await startS3rver() : undefined;
  try {
    if (only.has('startup')) await benchStartup();
    if (only.has('fs')) await benchFilesystem(data!);
    if (only.has('s3')) await benchS3(s3!, data!);
    if (only.has('zstd')) await benchZstd(s3!, data!);
    if (only.has('memory')) await benchMemory(s3);
  } finally {
    s3?.process.kill();
    await rm(output(), { recursive: true, force: true });
  }
  report(data);
  const resultsDirectory = join(projectRoot, 'bench/results');
  await mkdir(resultsDirectory, { recursive: true });
  const file = join(resultsDirectory, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        options: { sizeGiB, repetitions, only: [...only], agent, workdir },
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryGiB: totalmem() / GiB, node: process.version },
        loadAverage: { start: loadAtStart, end: loadavg() },
        cacheDropped: dropCaches,
        backupBytes: data?.bytes,
        tools,
        results,
      },
      null,
      2,
    ),
  );
  console.log(`Raw numbers: ${file}\nGenerated backups stay in ${workdir} for later runs; delete it when done.`);
}

await main();
