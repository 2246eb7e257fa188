// The engine's public interface: what the Web Worker exposes through comlink and what the CLI drives
// directly. Types only. Events are unions tagged on `type`; the payload is tied to its kind.
import type { ErrorInfo } from './errors';
import type { KvFormat, Mode, WeightFormat } from './lists';

export type { KvFormat, Mode, WeightFormat };

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
      /** one .gguf file of the repository, the whole model (only it is downloaded); else the safetensors */
      file?: string;
    }
  | { kind: 'files'; files: ReadonlyArray<File> } // a local folder the user opened, or one .gguf file (browser)
  | { kind: 'dir'; path: string } // a local folder (Node CLI)
  /**
   * An OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, Boxed's `serve`) that runs the model: the
   * server engine (src/remote) sends the requests there; `apiKey` goes only to `endpoint`, never into history or links.
   */
  | { kind: 'server'; endpoint: string; model: string; apiKey?: string };

export interface LoadRequest {
  source: ModelSource;
  weights: WeightFormat;
  /** KV-cache positions to plan for (prompt + answer), per sequence. */
  context: number;
  /** Sequences decoded at once (heavy mode); 1 for a single answer. */
  batch?: number;
  kv?: KvFormat;
  /**
   * The model's shapes when known before downloading (the start screen's size table): the engine then
   * allocates and frees the buffers the load will hold before fetching anything (see trialAllocation).
   */
  expect?: ModelShapeInfo;
}

/** A model's shapes, as ModelInfo reports them. */
export type ModelShapeInfo = Omit<ModelInfo['config'], 'maxPositions'>;

export interface TrialRequest {
  shape: ModelShapeInfo;
  weights: WeightFormat;
  context: number;
  batch?: number;
  kv?: KvFormat;
}

/** A trial allocation that succeeded: the driver granted this much now (freed again at once). */
export interface TrialResult {
  bytes: number;
  buffers: number;
  largestBuffer: number;
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
  /** Sequences the model was loaded for (heavy mode decodes up to this many at once). */
  batch?: number;
  /**
   * For a model on an OpenAI-compatible server: where it runs. `config`, `memory` and `gpu` are then zeros and
   * `weights` is the request's value (the server's own are not known here); `batch` is the most candidates.
   */
  server?: { endpoint: string; host: string; model: string; maxModelLen?: number };
  /**
   * for a hub model: the commit loaded, whether it came from the cache with the hub unreachable, a newer commit
   * of the branch, and the one .gguf file loaded (its path in the repository) when it was one
   */
  hub?: { endpoint: string; repo: string; revision: string; commit: string; offline: boolean; newerCommit?: string; file?: string };
  /**
   * For a GGUF file: what it holds. `weights` is then only the format of matrices the GPU cannot read as stored
   * (a gate and up of two block types); everything else is kept in the file's own block types.
   */
  gguf?: GgufInfo;
}

/** A GGUF model's types, as its file states them. */
export interface GgufInfo {
  /** general.file_type by llama.cpp's name (e.g. 'Q4_K_M'); null when the file does not say (or says a number unknown here) */
  fileType: string | null;
  /** The model's tensors by GGML block type: how many, and their stored bytes; most bytes first. */
  types: GgufTypeCount[];
}

export interface GgufTypeCount {
  type: string;
  tensors: number;
  bytes: number;
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

// ---- heavy mode: N candidates decoded together, combined by majority vote or GenSelect ----

/** How heavy mode picks its final answer from the candidates. */
export type HeavySelect = 'vote' | 'genselect';

export interface HeavyRequest {
  prompt: GenerateRequest['prompt'];
  /** How answers are read from the candidates, and which GenSelect prompt judges them (math or generic). */
  mode: Mode;
  /** The problem as the person wrote it (the selection prompt quotes it). */
  problem: string;
  /** Candidates decoded together, 1..16 (at most the batch the model was loaded with). */
  samples: number;
  select: HeavySelect;
  /** New tokens per candidate. */
  maxTokens: number;
  /**
   * Candidate i samples with seed `sampling.seed + i`; GenSelect's subsets and fallback coins come from seed
   * `sampling.seed + samples`, and its round r samples with seed `sampling.seed + samples + 1 + r`.
   */
  sampling: SamplingParams;
  /** New tokens for a selection's reasoning (default: maxTokens). */
  selectionMaxTokens?: number;
  /** Text candidate i has already written (continue a stopped run); its candidate text starts with it. */
  continueFrom?: readonly string[];
  /**
   * With continueFrom: how candidate i had ended before the run was stopped ('eos', 'max-tokens', ...): it is
   * kept as it is (its text is continueFrom[i]) and not decoded again. null, 'aborted' or absent: it continues.
   */
  continueDone?: readonly (StopReason | null)[];
}

export interface HeavyCandidate {
  text: string;
  ids: number[];
  /** The extracted answer (per the mode), or null. */
  answer: string | null;
  stop: StopReason;
}

/** Majority vote over exact answer strings (missing ignored, ties to the smallest string). */
export interface VoteResult {
  /** The winning answer, or null when no generation had one. */
  answer: string | null;
  /** How many generations gave the winning answer. */
  votes: number;
  /** The indices (into the input) of the generations that gave it, ascending. */
  indices: number[];
  /** Every answer given, with its count, largest group first (ties: smaller string first). */
  groups: { answer: string; votes: number }[];
}

/** Answers grouped by equivalence, for display only (the vote counts exact strings). */
export interface TallyGroup {
  /** The group's label: its most frequent exact string (ties: the one seen first). */
  label: string;
  /** Candidates in the group, ascending. */
  indices: number[];
  /** Every exact string in the group with its count, most frequent first. */
  forms: { answer: string; count: number }[];
}

export interface Tally {
  /** Largest group first; equal sizes keep the order their first member appears in. */
  groups: TallyGroup[];
  /** Candidates without an answer. */
  missing: number[];
}

export interface SelectionRound {
  /** The candidates judged, in the order the prompt lists them (Solution 0 is candidates[0]). */
  candidates: number[];
  /** True when their answers all agreed: no model call, the first one with the answer is picked. */
  skipped: boolean;
  /** The selection's own output (empty when skipped). */
  text: string;
  promptTokens: number;
  /** Characters each summary was cut to (5000 unless the context forced fewer). */
  summaryChars: number;
  /** The parsed `Judgment: IDX` (an index into `candidates`), or null when missing or out of range. */
  judgment: number | null;
  /** The candidate picked (an index into all candidates); a random one when judgment is null. */
  pick: number;
  stop: StopReason | null;
}

export interface HeavySelection {
  method: HeavySelect;
  /** GenSelect only: no model call because every answer agreed. */
  skipped: boolean;
  rounds: SelectionRound[];
  /** GenSelect could not run (e.g. its prompt does not fit the context): the vote's choice stands. */
  error?: ErrorInfo;
}

export interface HeavyStats {
  promptTokens: number;
  /** Prompt tokens prefilled for the candidates (the shared prompt once). */
  prefilledTokens: number;
  timeToFirstTokenMs: number;
  decodeSteps: number;
  /** Rows over all decode steps (ended candidates drop out of the steps). */
  decodeRows: number;
  aggregateTokensPerSecond: number;
  dispatchesPerStep: number;
  readbacksPerStep: number;
  selectionTokens: number;
}

export interface HeavyResult {
  candidates: HeavyCandidate[];
  vote: VoteResult;
  tally: Tally;
  selection: HeavySelection;
  /** The candidate the result comes from, or null when none has an answer. */
  chosen: number | null;
  answer: string | null;
  stats: HeavyStats;
}

/** Heavy-mode events; candidates' events carry their index `seq`. */
export type HeavyEvent =
  | { type: 'prefill'; done: number; total: number }
  | { type: 'token'; seq: number; text: string; count: number }
  | { type: 'candidate-end'; seq: number; stop: StopReason; answer: string | null }
  | { type: 'selection-start'; round: number; rounds: number; candidates: number[]; promptTokens: number; summaryChars: number }
  | { type: 'selection-prefill'; round: number; done: number; total: number }
  | { type: 'selection-token'; round: number; text: string; count: number }
  | { type: 'selection-end'; round: number; skipped: boolean; judgment: number | null; pick: number }
  | { type: 'stats'; stats: HeavyStats };

/**
 * The engine as the worker exposes it. Callbacks are passed with comlink.proxy.
 * Methods reject with errors that carry an ErrorInfo-compatible name (see errors.ts).
 */
export interface EngineApi {
  probe(): Promise<GpuReport>;
  load(req: LoadRequest, onEvent: (e: LoadEvent) => void): Promise<ModelInfo>;
  /**
   * Allocates every buffer a load of a model of these shapes would hold, then frees them; rejects with
   * OutOfMemory when the adapter refuses. Optional: an engine without a local GPU has nothing to try.
   */
  trialAllocation?(req: TrialRequest): Promise<TrialResult>;
  /** Renders the chat template and returns exactly what the model would receive. */
  renderPrompt(prompt: GenerateRequest['prompt']): Promise<{ text: string; tokens: number }>;
  generate(req: GenerateRequest, onEvent: (e: GenerateEvent) => void): Promise<GenerateResult>;
  /** Heavy mode; events arrive in batches (one per step in the engine, one per animation frame from the worker). */
  generateHeavy(req: HeavyRequest, onEvents: (events: HeavyEvent[]) => void): Promise<HeavyResult>;
  stop(): Promise<void>;
  unload(): Promise<void>;
}
