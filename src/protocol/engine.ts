// The engine's public interface: what the Web Worker exposes through comlink and what the CLI drives
// directly. Types only. Events are unions tagged on `type`; the payload is tied to its kind.
import type { ErrorInfo } from './errors';

export type WeightFormat = 'q4' | 'q8' | 'f16' | 'f32';
export type KvFormat = 'f16' | 'f32';
export type Mode = 'raw' | 'chat' | 'math' | 'code' | 'science4' | 'science10' | 'science-open';

/** Where the model files come from. */
export type ModelSource =
  | {
      kind: 'hub';
      endpoint: string;
      repo: string;
      revision: string;
      /** a Hugging Face access token for gated or private repositories; sent only to `endpoint` */
      token?: string;
      /** follow a moved branch to its newest commit even when an older copy is cached */
      update?: boolean;
    }
  | { kind: 'files'; files: ReadonlyArray<File> } // a local folder the user opened (browser)
  | { kind: 'dir'; path: string }; // a local folder (Node CLI)

export interface LoadRequest {
  source: ModelSource;
  weights: WeightFormat;
  /** KV-cache positions to plan for (prompt + answer), per sequence. */
  context: number;
  /** Sequences decoded at once (heavy mode); 1 for a single answer. */
  batch?: number;
  kv?: KvFormat;
}

export interface GpuReport {
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallback: boolean };
  features: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupStorageSize: number;
  };
}

export interface MemoryPlan {
  weights: number;
  kvCache: number;
  activations: number;
  total: number;
}

export type LoadPhase = 'download' | 'convert' | 'compile' | 'warmup';

export type LoadEvent =
  | { type: 'phase'; phase: LoadPhase }
  | {
      type: 'download';
      file: string;
      loaded: number;
      total: number;
      bytesPerSecond: number;
      /** 'done' also for a file that was already in the cache */
      state?: 'downloading' | 'retrying' | 'verifying' | 'done';
      /** while waiting to retry: failures in a row, the most allowed, ms until the next request */
      retry?: { attempt: number; of: number; inMs: number };
    }
  | { type: 'revision'; revision: string; commit: string; cached: boolean; offline: boolean; newerCommit?: string }
  | { type: 'convert'; tensor: string; done: number; total: number }
  | { type: 'compile'; done: number; total: number }
  | { type: 'warmup'; done: number; total: number };

export interface ModelInfo {
  name: string;
  config: {
    hiddenSize: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    vocabSize: number;
    intermediateSize: number;
    tiedEmbeddings: boolean;
    maxPositions: number;
  };
  memory: MemoryPlan;
  gpu: GpuReport;
  weights: WeightFormat;
  context: number;
  /** for a hub model: the commit loaded, whether it came from the cache with the hub unreachable, a newer commit of the branch */
  hub?: { endpoint: string; repo: string; revision: string; commit: string; offline: boolean; newerCommit?: string };
}

export interface SamplingParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** 1 keeps the whole distribution. */
  topP: number;
  /** 0 means no top-k. */
  topK: number;
  seed: number;
}

export interface GenerateRequest {
  /** Either chat messages (rendered with the model's own chat template) or raw text. */
  prompt: { kind: 'chat'; messages: ReadonlyArray<{ role: 'system' | 'user' | 'assistant'; content: string }> } | { kind: 'raw'; text: string };
  /** Text the assistant has already written (continue after a stop or a lost device). */
  continueFrom?: string;
  maxTokens: number;
  sampling: SamplingParams;
}

export type StopReason = 'eos' | 'max-tokens' | 'context-full' | 'aborted' | 'error';

export interface GenerateStats {
  promptTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  dispatchesPerToken: number;
  readbacksPerToken: number;
}

export type GenerateEvent =
  | { type: 'prefill'; done: number; total: number }
  | { type: 'token'; text: string; id: number; count: number }
  | { type: 'stats'; stats: GenerateStats };

export interface GenerateResult {
  text: string;
  ids: number[];
  stop: StopReason;
  stats: GenerateStats;
  error?: ErrorInfo;
}

/**
 * The engine as the worker exposes it. Callbacks are passed with comlink.proxy.
 * Methods reject with errors that carry an ErrorInfo-compatible name (see errors.ts).
 */
export interface EngineApi {
  probe(): Promise<GpuReport>;
  load(req: LoadRequest, onEvent: (e: LoadEvent) => void): Promise<ModelInfo>;
  /** Renders the chat template and returns exactly what the model would receive. */
  renderPrompt(prompt: GenerateRequest['prompt']): Promise<{ text: string; tokens: number }>;
  generate(req: GenerateRequest, onEvent: (e: GenerateEvent) => void): Promise<GenerateResult>;
  stop(): Promise<void>;
  unload(): Promise<void>;
}
