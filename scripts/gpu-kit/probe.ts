// The GPU kit's probe: prints the adapter the engine would get (as one JSON line) and the device's
// buffer-to-buffer copy bandwidth, measured with copyBufferToBuffer and timed to onSubmittedWorkDone.
//   node probe.mjs [--copy-mib N]     (N = 0 skips the copy measurement)
import { openDevice } from '../../src/gpu/device';
import { nodeGpu } from '../../src/gpu/test-device';

interface CopyResult {
  buffer_mib: number;
  copies: number;
  seconds: number;
  /** bytes copied per second (each copy reads and writes its size, so memory traffic is twice this) */
  copy_gb_per_s: number;
}

async function copyBandwidth(device: GPUDevice, mib: number): Promise<CopyResult> {
  const size = Math.min(mib * 1024 * 1024, device.limits.maxBufferSize) & ~255;
  const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE;
  const a = device.createBuffer({ size, usage, label: 'copy-a' });
  const b = device.createBuffer({ size, usage, label: 'copy-b' });
  const run = async (copies: number): Promise<number> => {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < copies; i++) {
      if (i % 2 === 0) enc.copyBufferToBuffer(a, 0, b, 0, size);
      else enc.copyBufferToBuffer(b, 0, a, 0, size);
    }
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / 1000;
  };
  await run(2); // first touch of the pages, pipeline warm-up
  // size the measured batch to take about half a second
  const one = Math.max(await run(1), 1e-6);
  const copies = Math.max(4, Math.min(2000, Math.round(0.5 / one)));
  const seconds = await run(copies);
  a.destroy();
  b.destroy();
  return { buffer_mib: size / (1024 * 1024), copies, seconds, copy_gb_per_s: (copies * size) / seconds / 1e9 };
}

const i = process.argv.indexOf('--copy-mib');
const copyMib = i >= 0 ? Number(process.argv[i + 1]) : 256;
if (!Number.isInteger(copyMib) || copyMib < 0) {
  process.stderr.write(`error: --copy-mib must be a non-negative integer\n`);
  process.exit(2);
}
const { device, report } = await openDevice(nodeGpu());
const out: Record<string, unknown> = { ...report };
if (copyMib > 0) out.copy = await copyBandwidth(device, copyMib);
process.stdout.write(JSON.stringify(out) + '\n');
device.destroy();
