// Shader modules and compute pipelines, built once and cached by a typed key. Shaders are plain
// WGSL files; the only preprocessing is feature blocks (//#if subgroups ... //#else ... //#endif),
// because `enable` directives and subgroup builtins cannot be switched with override constants.
// Tunables (workgroup sizes, tile sizes, formats) are WGSL `override` constants set here.
//
// Compilation is asynchronous, in two steps:
//   1. request(key): a kernel's constructor asks for its pipelines and gets PipelineHandles back at once;
//      nothing is compiled yet. Equal keys get the same handle, so a pipeline two kernels share (or two
//      models on one device) is compiled once. Every pipeline has an explicit layout (no 'auto': an auto
//      layout exists only once its pipeline does), so kernels make their bind groups before compilation.
//   2. compile(onProgress): compiles every pending pipeline with device.createComputePipelineAsync, at most
//      `concurrency` (default 4) at a time, and reports {done, total} as each one finishes (monotonic, 0 at
//      the start, total at the end). The browser's GPU process, or Dawn's worker threads, compile in
//      parallel while the JS thread stays free. GpuModel.load awaits it; a kernel test awaits it before
//      its first encode.
// A dispatch reads handle.pipeline, which throws a clear error when the pipeline is not compiled yet.
// A WGSL or validation error becomes an Internal BoxedError naming the shader, the entry point and the
// compiler's messages; a device lost while compiling becomes DeviceLost. There is no synchronous path:
// nothing needs one (every caller can await compile() before it records work).
import type { GpuCaps } from './device';
import { BoxedError } from '../protocol/errors';

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

/** A binding's type in an explicit layout: a uniform, a read-only storage buffer, or a read-write one. */
export type BindingKind = 'uniform' | 'read-only-storage' | 'storage';

/** Group layouts (one per bind group, binding number -> kind) and the pipeline layout made of them. */
export interface KernelLayout {
  groups: GPUBindGroupLayout[];
  pipeline: GPUPipelineLayout;
}

export interface PipelineKey {
  /** A name for labels and the cache key (usually the shader file's name). */
  shader: string;
  source: string;
  entryPoint?: string;
  defines?: ShaderDefines;
  constants?: Readonly<Record<string, number>>;
  /** The pipeline's explicit layout (bind groups are made against it before the pipeline is compiled). */
  layout: GPUPipelineLayout;
}

/** A pipeline that may still be compiling; `pipeline` is the compiled one (it throws before compile() finished). */
export class PipelineHandle {
  private value: GPUComputePipeline | null = null;
  private failure: Error | null = null;
  /** Settles when this pipeline is compiled (or failed); made at request time, so compile() can wait on queued ones. */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    /** "shader:entryPoint" */
    readonly label: string,
    readonly shader: string,
    readonly descriptor: () => GPUComputePipelineDescriptor,
    readonly module: GPUShaderModule,
  ) {
    this.settled = new Promise<void>((resolve) => (this.settle = resolve));
  }

  get ready(): boolean {
    return this.value !== null;
  }

  /** The compiled pipeline. Throws when compile() has not finished it (or it failed). */
  get pipeline(): GPUComputePipeline {
    if (this.value) return this.value;
    if (this.failure) throw this.failure;
    throw new BoxedError('Internal', `pipeline ${this.label} was used before it was compiled: await ctx.pipelines.compile() (GpuModel.load does) before recording work`, {
      detail: { shader: this.shader },
    });
  }

  /** The failure, if compiling it failed. */
  get error(): Error | null {
    return this.failure;
  }

  resolve(p: GPUComputePipeline): void {
    this.value = p;
    this.settle();
  }

  reject(e: Error): void {
    this.failure = e;
    this.settle();
  }
}

export type CompileProgress = (done: number, total: number) => void;

/** Pipelines compiled at once by default: enough to keep a GPU process's compiler threads busy, few enough not to starve the page. */
export const COMPILE_CONCURRENCY = 4;

const C = 0x4; // GPUShaderStage.COMPUTE (a literal: Node's GPU* globals appear only after Dawn is created)

export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private handles = new Map<string, PipelineHandle>();
  private layouts = new Map<string, KernelLayout>();
  private layoutIds = new WeakMap<GPUPipelineLayout, number>();
  private nextLayoutId = 0;
  private queue: PipelineHandle[] = [];
  private inFlight = 0;
  private lostMessage: string | null = null;
  private readonly lost: Promise<string>;
  /** Pipelines whose compilation was started (compile progress, and tests that check nothing is built twice). */
  created = 0;
  /** The most compilations that were in flight at once (tests of the concurrency bound). */
  peakInFlight = 0;
  /** Compilations in flight at once (compile() may be given another for one call). */
  concurrency = COMPILE_CONCURRENCY;

  constructor(
    readonly device: GPUDevice,
    readonly caps: GpuCaps,
  ) {
    this.lost = device.lost.then((info) => (this.lostMessage = info.message || info.reason || 'device lost'));
  }

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

  /**
   * An explicit layout: groups[i] maps binding numbers of @group(i) to their kind. Equal specs share one
   * layout object (and so pipelines keyed on it). The bindings must match the shader's declarations.
   */
  layout(name: string, groups: ReadonlyArray<Readonly<Record<number, BindingKind>>>): KernelLayout {
    const spec = groups.map((g) =>
      Object.entries(g)
        .map(([b, kind]) => [Number(b), kind] as const)
        .sort((a, b) => a[0] - b[0]),
    );
    const key = `${name}|${JSON.stringify(spec)}`;
    let l = this.layouts.get(key);
    if (l) return l;
    const label = `${name}[${spec.map((g) => g.map(([b, k]) => `${b}:${k === 'uniform' ? 'u' : k === 'storage' ? 'rw' : 'r'}`).join(',')).join('|')}]`;
    const bgls = spec.map((g, i) =>
      this.device.createBindGroupLayout({ label: `${label}.g${i}`, entries: g.map(([binding, type]) => ({ binding, visibility: C, buffer: { type } })) }),
    );
    l = { groups: bgls, pipeline: this.device.createPipelineLayout({ label, bindGroupLayouts: bgls }) };
    this.layouts.set(key, l);
    return l;
  }

  /** Asks for a pipeline: its handle, the same one for an equal key; compiled by the next compile(). */
  request(k: PipelineKey): PipelineHandle {
    const entryPoint = k.entryPoint ?? 'main';
    const key = `${k.shader}|${entryPoint}|${JSON.stringify(k.defines ?? {})}|${JSON.stringify(k.constants ?? {})}|${this.layoutId(k.layout)}`;
    let h = this.handles.get(key);
    if (h && !h.error) return h; // a failed one is tried again
    const module = this.module(k.shader, k.source, k.defines);
    const label = `${k.shader}:${entryPoint}`;
    h = new PipelineHandle(label, k.shader, () => ({ label, layout: k.layout, compute: { module, entryPoint, constants: k.constants as Record<string, number> | undefined } }), module);
    this.handles.set(key, h);
    this.queue.push(h);
    return h;
  }

  /** Pipelines requested and not compiled yet (queued or compiling). */
  get pending(): number {
    let n = 0;
    for (const h of this.handles.values()) if (!h.ready && !h.error) n++;
    return n;
  }

  /**
   * Compiles every pipeline requested so far and not yet compiled, `concurrency` at a time, calling
   * onProgress(done, total) first with 0 and then as each one finishes. Rejects with the first failure
   * (a BoxedError naming the shader); the others still finish.
   */
  async compile(onProgress?: CompileProgress, concurrency = this.concurrency): Promise<void> {
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new BoxedError('Internal', `compile concurrency must be a positive integer, got ${concurrency}`);
    const waiting = [...this.handles.values()].filter((h) => !h.ready && !h.error);
    const total = waiting.length;
    let done = 0;
    onProgress?.(0, total);
    this.pump(concurrency);
    await Promise.all(
      waiting.map(async (h) => {
        await h.settled;
        onProgress?.(++done, total);
      }),
    );
    const error = waiting.find((h) => h.error)?.error;
    if (error) throw error;
    if (this.lostMessage !== null) throw this.lostError(waiting[0]?.label);
  }

  /** Layouts are keyed by identity (a number per layout object): labels need not be unique. */
  private layoutId(l: GPUPipelineLayout): number {
    let id = this.layoutIds.get(l);
    if (id === undefined) this.layoutIds.set(l, (id = ++this.nextLayoutId));
    return id;
  }

  /** Starts queued compilations while fewer than `concurrency` are in flight. */
  private pump(concurrency: number): void {
    while (this.inFlight < concurrency && this.queue.length > 0) {
      const h = this.queue.shift()!;
      this.inFlight++;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      this.created++;
      void this.build(h).finally(() => {
        this.inFlight--;
        this.pump(concurrency);
      });
    }
  }

  private async build(h: PipelineHandle): Promise<void> {
    try {
      const lost = this.lost.then(() => null);
      const p = await Promise.race([this.device.createComputePipelineAsync(h.descriptor()), lost]);
      if (p === null || this.lostMessage !== null) h.reject(this.lostError(h.label));
      else h.resolve(p);
    } catch (e) {
      h.reject(this.lostMessage !== null ? this.lostError(h.label) : await this.compileError(h, e));
    }
  }

  private lostError(label = 'a pipeline'): BoxedError {
    return new BoxedError('DeviceLost', `The GPU device was lost while compiling ${label}: ${this.lostMessage ?? 'device lost'}`);
  }

  /** A pipeline's failure as a BoxedError with the shader's name and the WGSL compiler's messages. */
  private async compileError(h: PipelineHandle, e: unknown): Promise<BoxedError> {
    let messages = '';
    try {
      const info = await h.module.getCompilationInfo();
      messages = info.messages
        .filter((m) => m.type === 'error')
        .map((m) => `${h.shader}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`)
        .join('\n');
    } catch {
      // no compilation info on this implementation: the pipeline error's message says enough
    }
    const reason = (e as { reason?: string }).reason;
    const msg = e instanceof Error ? e.message : String(e);
    return new BoxedError('Internal', `The shader ${h.label} did not compile${reason ? ` (${reason})` : ''}: ${messages || msg}`, {
      detail: { shader: h.shader, pipeline: h.label },
      cause: e,
    });
  }
}
