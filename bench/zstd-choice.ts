/**
 * Which zstd decoder should restore compressed segments? Measures, on a segment-like file
 * compressed the way brokers compress (a zstd stream without content size, level 3):
 *
 * - zstd-napi (libzstd through Node-API) in the agent's decode worker, which also writes the file;
 * - node:zlib `createZstdDecompress`, streamed, with the agent's 1 MiB chunks (its fallback) and
 *   with the default;
 * - `@mongodb-js/zstd` `decompress` (the design card's choice): its API takes and returns whole
 *   buffers, so the file and its decompressed form must both fit in memory;
 * - the `zstd -d` command line tool, as the baseline of what the library can do.
 *
 * Each decoder runs in its own process, so its peak RSS is its own. Missing decoders are skipped.
 * Run: `npm run bench:zstd` (options: --size-mib=512 --runs=3 --dir=<scratch directory>).
 * `@mongodb-js/zstd` is not a dependency (its install script downloads zstd sources, which fails
 * offline); point NODE_PATH at a node_modules holding a build of it to include it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { constants, createZstdCompress, createZstdDecompress } from 'node:zlib';

const MiB = 1024 * 1024;
const decodeWorkers = fileURLToPath(new URL('../dist/restore/decode-workers.js', import.meta.url));

type Measurement = { seconds: number; peakRssMiB: number | undefined };

/** The decoders, each a function run inside its own child process. */
const decoders: Record<string, { available: () => string | undefined; run: (input: string, output: string) => Promise<void> }> = {
  'zstd-napi in a decode worker (agent)': {
    available: () => (existsSync(decodeWorkers) ? undefined : 'run `npm run build` first'),
    run: async (input, output) => {
      const { WorkerDecodingSink } = await import(decodeWorkers);
      await rm(output, { force: true });
      await pipeline(createReadStream(input, { highWaterMark: 256 * 1024 }), new WorkerDecodingSink(output));
    },
  },
  'node:zlib stream, 1 MiB chunks (agent without zstd-napi)': {
    available: () => undefined,
    run: (input, output) =>
      pipeline(createReadStream(input, { highWaterMark: MiB }), createZstdDecompress({ chunkSize: MiB }), createWriteStream(output)),
  },
  'node:zlib stream, default 16 KiB chunks': {
    available: () => undefined,
    run: (input, output) => pipeline(createReadStream(input), createZstdDecompress(), createWriteStream(output)),
  },
  '@mongodb-js/zstd decompress (buffers)': {
    available: () => (loadMongodbZstd() ? undefined : 'not installed (see the header of this file)'),
    run: async (input, output) => {
      const zstd = loadMongodbZstd()!;
      await writeFile(output, await zstd.decompress(await readFile(input)));
    },
  },
};

function loadMongodbZstd(): { decompress(data: Buffer): Promise<Buffer> } | undefined {
  try {
    return createRequire(import.meta.url)('@mongodb-js/zstd');
  } catch {
    return undefined;
  }
}

const cliAvailable = () => (spawnSync('zstd', ['--version']).status === 0 ? undefined : 'zstd is not on the PATH');

async function main(): Promise<void> {
  const options = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
  const sizeMiB = Number(options['size-mib'] ?? 512);
  const runs = Number(options.runs ?? 3);
  const directory = options.dir ?? join(tmpdir(), 'zstd-choice');
  await mkdir(directory, { recursive: true });
  const original = join(directory, `segment-${sizeMiB}MiB.log`);
  const compressed = `${original}.zst`;
  if (!existsSync(compressed)) {
    console.log(`Generating a ${sizeMiB} MiB segment-like file and compressing it as brokers do...`);
    await writeSegmentLikeFile(original, sizeMiB * MiB);
    await pipeline(createReadStream(original), createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 3 } }), createWriteStream(compressed));
  }
  const expected = await sha256(original);
  console.log(
    `Input: ${(statSync(original).size / MiB).toFixed(0)} MiB, zstd stream ${(statSync(compressed).size / MiB).toFixed(1)} MiB ` +
      `(ratio ${(statSync(original).size / statSync(compressed).size).toFixed(2)}), ${runs} runs each, median shown.\n`,
  );

  const output = join(directory, 'out.log');
  const rows: string[][] = [['decoder', 'seconds', 'MiB/s (decompressed)', 'peak RSS MiB', 'output']];
  const candidates: [string, string | undefined, () => Measurement][] = [
    ...Object.entries(decoders).map(([name, decoder]): [string, string | undefined, () => Measurement] => [
      name,
      decoder.available(),
      () => runChild(name, compressed, output),
    ]),
    ['zstd -d (CLI)', cliAvailable(), () => runCli(compressed, output)],
  ];
  for (const [name, missing, measure] of candidates) {
    if (missing) {
      rows.push([name, 'skipped', missing, '', '']);
      continue;
    }
    const measurements = Array.from({ length: runs }, () => measure()).sort((a, b) => a.seconds - b.seconds);
    const median = measurements[Math.floor(runs / 2)]!;
    const correct = (await sha256(output)) === expected ? 'identical' : 'DIFFERENT';
    const peak = Math.max(...measurements.map((m) => m.peakRssMiB ?? 0));
    rows.push([name, median.seconds.toFixed(2), (sizeMiB / median.seconds).toFixed(0), peak ? peak.toFixed(0) : 'n/a', correct]);
    await rm(output, { force: true });
  }
  printTable(rows);
  console.log(`\nThe generated files stay in ${directory} for further runs; delete it when done.`);
}

function runChild(decoder: string, input: string, output: string): Measurement {
  const result = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', decoder, input, output], {
    encoding: 'utf8',
    env: process.env,
  });
  return JSON.parse(result) as Measurement;
}

/** GNU time reports the CLI's peak RSS; without it the row shows only the time. */
function runCli(input: string, output: string): Measurement {
  const timeTool = existsSync('/usr/bin/time');
  const args = ['zstd', '-d', '-q', '-f', '-o', output, input];
  const started = performance.now();
  const result = timeTool ? spawnSync('/usr/bin/time', ['-f', '%M', ...args], { encoding: 'utf8' }) : spawnSync(args[0]!, args.slice(1));
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`zstd failed: ${result.stderr}`);
  const kib = timeTool ? Number(String(result.stderr).trim().split('\n').pop()) : NaN;
  return { seconds, peakRssMiB: Number.isFinite(kib) ? kib / 1024 : undefined };
}

async function child(decoder: string, input: string, output: string): Promise<void> {
  const started = performance.now();
  await decoders[decoder]!.run(input, output);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

/**
 * Journal-like content: frames of a length, a checksum and a msgpack-ish record whose field
 * names repeat and whose values vary, about as compressible as real Zeebe segments (~3-5x).
 */
async function writeSegmentLikeFile(path: string, size: number): Promise<void> {
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const fields = ['processInstanceKey', 'bpmnProcessId', 'elementId', 'flowScopeKey', 'bpmnElementType', 'version', 'variables', 'tenantId'];
  const words = ['order', 'payment', 'shipping', 'invoice', 'customer', 'approve', 'review', 'task', 'gateway', 'timer'];
  const record = (): Buffer => {
    const parts: string[] = [];
    for (const field of fields) {
      const value =
        field === 'variables'
          ? JSON.stringify({ amount: random() % 100000, currency: 'EUR', item: words[random() % 10], count: random() % 50 })
          : field.endsWith('Key')
            ? String(2251799813685248 + (random() % 1_000_000_000))
            : `${words[random() % 10]}-${words[random() % 10]}-${random() % 100}`;
      parts.push(field, value);
    }
    const body = Buffer.from(parts.join('\u00a4'));
    const frame = Buffer.alloc(12 + body.length);
    frame.writeInt32LE(body.length, 0);
    frame.writeUInt32LE(random(), 4); // checksum: incompressible, as in real frames
    frame.writeUInt32LE(random() % 4096, 8);
    body.copy(frame, 12);
    return frame;
  };
  function* chunks(): Generator<Buffer> {
    let written = 0;
    while (written < size) {
      const batch: Buffer[] = [];
      let length = 0;
      while (length < MiB && written + length < size) {
        const frame = record();
        batch.push(frame);
        length += frame.length;
      }
      const chunk = Buffer.concat(batch).subarray(0, size - written);
      written += chunk.length;
      yield chunk;
    }
  }
  await pipeline(chunks(), createWriteStream(path));
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
} else {
  await main();
}
