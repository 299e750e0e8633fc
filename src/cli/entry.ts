import { hideBin } from 'yargs/helpers';

// Checked before anything else loads: older Node lacks the streaming zstd this agent relies on.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(
    `The Zeebe restore agent needs Node.js 22.15 or newer; this is Node.js ${process.versions.node}. ` +
      `Run it through bin/restore after 'npm install' (which provides Node.js 22), or use the container image.\n`,
  );
  process.exit(2);
}
// libuv's thread pool runs every file write, fdatasync and decompression; its default of 4 threads
// lets a few fdatasyncs of finished files, each waiting for the disk, stall the writes and
// decompression of all other transfers. Read by libuv when the pool first starts, which is later
// than this. Measured with bench/restore-bench.ts: S3 restores 10-20 % faster with 16.
process.env.UV_THREADPOOL_SIZE ??= '16';
// A closed log pipe (`| head`, a log collector that died) must not abort a restore half-way.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
const { main } = await import('./main.js');
// Exit explicitly: idle keep-alive sockets of cloud SDKs must not hold a finished restore open.
process.exit(await main(hideBin(process.argv)));
