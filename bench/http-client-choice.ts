/**
 * Would another HTTP client make the main thread's share of a download cheaper? Node's `http`
 * (under the AWS SDK's Node handler) copies every body chunk out of the socket's read buffer
 * (`Parser::on_body` in a `perf` profile of a restore); undici hands chunks out as views of it.
 * Measures both on the same objects: a local server (its own process) serves `--objects` objects
 * of `--size-mib` incompressible bytes over keep-alive connections, and each client, in a process
 * of its own, downloads every object `--rounds` times, all objects at once, discarding the bodies.
 * Reports, per client, the median wall time, CPU seconds (user + system) and the peak of
 * ArrayBuffer memory (`process.memoryUsage().arrayBuffers`, sampled every 10 ms), which is where
 * body chunks live until they are collected.
 *
 * Run: `npm run bench:http` (options: --objects=6 --size-mib=128 --rounds=3 --runs=3).
 */
import { spawn, spawnSync } from 'node:child_process';

const option = (name: string, fallback: number) => Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const objects = option('objects', 6);
const sizeMiB = option('size-mib', 128);
const rounds = option('rounds', 3);
const runs = option('runs', 3);

const serverScript = `
  import { createServer } from 'node:http';
  import { randomBytes } from 'node:crypto';
  const body = randomBytes(${sizeMiB} * 1024 * 1024);
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-length': body.length });
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const clientScript = `
  import http from 'node:http';
  import { request } from 'undici';
  const [client, port, objects, rounds] = process.argv.slice(1);
  const urls = Array.from({ length: Number(objects) }, (_, i) => 'http://127.0.0.1:' + port + '/object/' + i);
  let peak = 0;
  setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 10).unref();
  const agent = new http.Agent({ keepAlive: true });
  const viaHttp = (url) => new Promise((resolve, reject) => {
    http.get(url, { agent }, (response) => {
      let bytes = 0;
      response.on('data', (chunk) => (bytes += chunk.length));
      response.on('end', () => resolve(bytes));
      response.on('error', reject);
    }).on('error', reject);
  });
  const viaUndici = async (url) => {
    const { body } = await request(url);
    let bytes = 0;
    for await (const chunk of body) bytes += chunk.length;
    return bytes;
  };
  const get = client === 'undici' ? viaUndici : viaHttp;
  const started = performance.now();
  const cpu = process.cpuUsage();
  let bytes = 0;
  for (let round = 0; round < Number(rounds); round++) bytes += (await Promise.all(urls.map(get))).reduce((a, b) => a + b, 0);
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ bytes, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, peakArrayBuffersMiB: peak / 1048576 }));
  process.exit(0);
`;

interface Measurement {
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  peakArrayBuffersMiB: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const server = spawn(process.execPath, ['--input-type=module', '-e', serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<string>((resolve) => server.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
try {
  const results = new Map<string, Measurement[]>([
    ['node:http', []],
    ['undici', []],
  ]);
  for (let run = 0; run < runs; run++) {
    // Alternating, so that neither client always runs after the other.
    const order = run % 2 === 0 ? ['node:http', 'undici'] : ['undici', 'node:http'];
    for (const client of order) {
      const { stdout, status, stderr } = spawnSync(
        process.execPath,
        ['--max-semi-space-size=2', '--input-type=module', '-e', clientScript, client === 'undici' ? 'undici' : 'http', port, String(objects), String(rounds)],
        { encoding: 'utf8' },
      );
      if (status !== 0) throw new Error(`${client} failed: ${stderr}`);
      results.get(client)!.push(JSON.parse(stdout) as Measurement);
    }
  }
  console.log(`${objects} objects of ${sizeMiB} MiB, ${rounds} rounds, all objects at once; medians of ${runs} runs`);
  console.log('client       seconds  CPU s  peak ArrayBuffers MiB');
  for (const [client, measurements] of results) {
    const column = (pick: (m: Measurement) => number, digits: number) => median(measurements.map(pick)).toFixed(digits);
    console.log(`${client.padEnd(12)} ${column((m) => m.seconds, 2).padStart(7)}  ${column((m) => m.cpuSeconds, 2).padStart(5)}  ${column((m) => m.peakArrayBuffersMiB, 0).padStart(21)}`);
  }
} finally {
  server.kill();
}
