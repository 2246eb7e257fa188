// GPU for tests and the CLI in Node: Dawn through the npm `webgpu` package. Not bundled into the app.
import { create, globals } from 'webgpu';
import { openDevice, type DeviceOptions } from './device';
import { GpuContext } from './context';

let gpu: GPU | undefined;

/** Dawn's GPU object, created once per process (globals such as GPUBufferUsage installed). */
export function nodeGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  }
  return gpu;
}

/** The two device profiles every kernel test runs on. */
export const PROFILES: Record<'full' | 'weak', DeviceOptions> = {
  // everything the adapter offers (f16, subgroups, big limits on lavapipe)
  full: {},
  // like Chromium's SwiftShader: no shader-f16, no subgroups, 256 invocations, 10 storage buffers, 128 MiB bindings
  weak: {
    disableFeatures: ['shader-f16', 'subgroups'],
    capLimits: {
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256,
      maxStorageBuffersPerShaderStage: 10,
      maxStorageBufferBindingSize: 128 * 1024 * 1024,
    },
  },
};

export async function nodeContext(opts: DeviceOptions = {}): Promise<GpuContext> {
  return new GpuContext(await openDevice(nodeGpu(), opts));
}
