// Shader modules and compute pipelines, built once and cached by a typed key. Shaders are plain
// WGSL files; the only preprocessing is feature blocks (//#if subgroups ... //#else ... //#endif),
// because `enable` directives and subgroup builtins cannot be switched with override constants.
// Tunables (workgroup sizes, tile sizes, formats) are WGSL `override` constants set here.
import type { GpuCaps } from './device';

export type ShaderDefines = Readonly<Record<string, boolean>>;

/** Keeps the lines inside //#if NAME blocks whose NAME is true (//#if !NAME negates; //#else flips). */
export function preprocessWgsl(source: string, defines: ShaderDefines): string {
  const out: string[] = [];
  const stack: { active: boolean; parentActive: boolean }[] = [];
  const active = () => (stack.length === 0 ? true : stack[stack.length - 1].active);
  source.split('\n').forEach((line, i) => {
    const m = /^\s*\/\/#(if|else|endif)\b\s*(!?)(\w*)/.exec(line);
    if (!m) {
      if (active()) out.push(line);
      else out.push(''); // keep line numbers stable for compiler messages
      return;
    }
    const [, dir, neg, name] = m;
    if (dir === 'if') {
      if (!(name in defines)) throw new Error(`WGSL //#if on unknown define '${name}' at line ${i + 1}`);
      const cond = neg ? !defines[name] : defines[name];
      const parentActive = active();
      stack.push({ active: parentActive && cond, parentActive });
    } else if (dir === 'else') {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`WGSL //#else without //#if at line ${i + 1}`);
      top.active = top.parentActive && !top.active;
    } else {
      if (!stack.pop()) throw new Error(`WGSL //#endif without //#if at line ${i + 1}`);
    }
    out.push('');
  });
  if (stack.length) throw new Error('WGSL //#if without //#endif');
  return out.join('\n');
}

export interface PipelineKey {
  /** A name for labels and the cache key (usually the shader file's name). */
  shader: string;
  source: string;
  entryPoint?: string;
  defines?: ShaderDefines;
  constants?: Readonly<Record<string, number>>;
  /** An explicit pipeline layout (bind groups shared across pipelines); 'auto' when absent. Its label must be unique. */
  layout?: GPUPipelineLayout;
}

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  /** Pipelines created so far (compile progress, and tests that check nothing is rebuilt). */
  created = 0;

  constructor(
    readonly device: GPUDevice,
    readonly caps: GpuCaps,
  ) {}

  /** The defines every shader sees, from the device's features. */
  featureDefines(): ShaderDefines {
    return { subgroups: this.caps.subgroups, f16: this.caps.shaderF16 };
  }

  module(shader: string, source: string, defines: ShaderDefines = {}): GPUShaderModule {
    const all = { ...this.featureDefines(), ...defines };
    const key = `${shader}|${JSON.stringify(all)}`;
    let m = this.modules.get(key);
    if (!m) {
      m = this.device.createShaderModule({ label: shader, code: preprocessWgsl(source, all) });
      this.modules.set(key, m);
    }
    return m;
  }

  get(k: PipelineKey): GPUComputePipeline {
    const key = `${k.shader}|${k.entryPoint ?? 'main'}|${JSON.stringify(k.defines ?? {})}|${JSON.stringify(k.constants ?? {})}|${k.layout?.label ?? 'auto'}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline({
        label: `${k.shader}:${k.entryPoint ?? 'main'}`,
        layout: k.layout ?? 'auto',
        compute: {
          module: this.module(k.shader, k.source, k.defines),
          entryPoint: k.entryPoint ?? 'main',
          constants: k.constants as Record<string, number> | undefined,
        },
      });
      this.pipelines.set(key, p);
      this.created++;
    }
    return p;
  }
}
