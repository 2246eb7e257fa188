// Adapter and device: ask for the adapter's real limits and the features we can use, and describe
// what we got. Works the same with navigator.gpu (browser, worker) and Dawn's GPU object (Node).
import { BoxedError } from '../protocol/errors';
import type { GpuReport } from '../protocol/engine';

export interface GpuCaps {
  /** shader-f16 enabled on the device (f16 arithmetic in WGSL). Weights/KV in f16 work without it. */
  shaderF16: boolean;
  /** subgroups enabled (subgroupAdd/Max in reductions). */
  subgroups: boolean;
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupSizeX: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeWorkgroupsPerDimension: number;
    minStorageBufferOffsetAlignment: number;
    minUniformBufferOffsetAlignment: number;
  };
}

export interface DeviceOptions {
  /** Features not to use even when the adapter has them (tests of the fallback paths). */
  disableFeatures?: ReadonlyArray<'shader-f16' | 'subgroups'>;
  /** Cap limits below the adapter's (tests that emulate a weaker adapter). */
  capLimits?: Partial<GpuCaps['limits']>;
  powerPreference?: GPUPowerPreference;
}

export interface BoxedDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  caps: GpuCaps;
  report: GpuReport;
  /** Resolves when the device is lost (never, in a healthy run). */
  lost: Promise<GPUDeviceLostInfo>;
}

const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

export async function openDevice(gpu: GPU | undefined, opts: DeviceOptions = {}): Promise<BoxedDevice> {
  if (!gpu) throw new BoxedError('NoWebGPU', 'WebGPU is not available in this browser (navigator.gpu is missing).');
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new BoxedError('NoWebGPU', 'WebGPU is present but no GPU adapter was offered (it may be disabled or blocklisted).');

  const disabled = new Set(opts.disableFeatures ?? []);
  const want = (f: GPUFeatureName) => adapter.features.has(f) && !disabled.has(f as 'shader-f16' | 'subgroups');
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['shader-f16', 'subgroups', 'timestamp-query'] as GPUFeatureName[]) if (want(f)) requiredFeatures.push(f);

  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const have = adapter.limits[name];
    const cap = opts.capLimits?.[name];
    // alignment limits are minimums: a larger value is weaker
    const isAlign = name.startsWith('min');
    requiredLimits[name] = cap === undefined ? have : isAlign ? Math.max(have, cap) : Math.min(have, cap);
  }
  if (requiredLimits.maxComputeWorkgroupSizeX > requiredLimits.maxComputeInvocationsPerWorkgroup) {
    requiredLimits.maxComputeWorkgroupSizeX = requiredLimits.maxComputeInvocationsPerWorkgroup;
  }

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'boxed' });
  } catch (e) {
    throw new BoxedError('NoWebGPU', `The GPU adapter refused a device: ${(e as Error).message}`, { cause: e });
  }
  // Dawn raises a requested limit below the WebGPU default back to the default; the caps we plan with
  // honour the cap anyway, so a test can emulate an adapter weaker than the spec's defaults.
  const limits = {} as GpuCaps['limits'];
  for (const name of LIMIT_NAMES) {
    const cap = opts.capLimits?.[name];
    const got = device.limits[name];
    limits[name] = cap === undefined ? got : name.startsWith('min') ? Math.max(got, cap) : Math.min(got, cap);
  }
  const caps: GpuCaps = {
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    limits,
  };
  const info = adapter.info;
  const report: GpuReport = {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallback: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    },
    features: { shaderF16: caps.shaderF16, subgroups: caps.subgroups, timestampQuery: device.features.has('timestamp-query') },
    limits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    },
  };
  return { device, adapter, caps, report, lost: device.lost };
}
