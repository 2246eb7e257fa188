// Settings slice: where the model comes from, how it is loaded, how answers are sampled, the UI theme.
// Defaults follow the model's evaluation settings (temperature 0.6, top-p 0.95, no top-k).
import type { StateCreator } from 'zustand';
import type { HeavySelect, KvFormat, Mode, WeightFormat } from '../protocol/engine';
import { GPU_MAX_SAMPLES, KV_FORMATS, MODE_LIST, SETTING_RANGES, WEIGHT_FORMATS } from '../protocol/lists';
import { ggufFileOrNull } from '../loader/hub-api';
import type { Boxed } from './store';

/** The modes a person picks from (the engine also has 'raw', which the app does not offer). */
export type UiMode = Exclude<Mode, 'raw'>;
export const UI_MODES: ReadonlyArray<UiMode> = MODE_LIST.filter((m): m is UiMode => m !== 'raw');

export type ThemeChoice = 'system' | 'light' | 'dark';
export { KV_FORMATS, WEIGHT_FORMATS };

/** Heavy mode's choices of parallel solutions (1 is heavy mode off); above LOCAL_MAX_SAMPLES only on a server. */
export const SAMPLE_CHOICES = [1, 4, 8, 16, 32, 64] as const;
/** The most parallel solutions on this GPU (the engine's batch limit); a server engine takes up to SERVER_MAX_SAMPLES. */
export const LOCAL_MAX_SAMPLES = GPU_MAX_SAMPLES;

/** Where answers are computed: this GPU (the WGSL engine) or an OpenAI-compatible server. */
export type EngineChoice = 'gpu' | 'server';
export type Samples = (typeof SAMPLE_CHOICES)[number];
export const SELECT_CHOICES: ReadonlyArray<HeavySelect> = ['vote', 'genselect'];

export const MAX_NEW_TOKENS = SETTING_RANGES.maxTokens[1];
export const MAX_CONTEXT = SETTING_RANGES.context[1];

export interface Settings {
  endpoint: string;
  repo: string;
  revision: string;
  /** One .gguf file of the repository to load (the whole model); '' loads its safetensors. */
  file: string;
  weights: WeightFormat;
  /** How the KV cache is stored: 'f16' (the default), 'f32', or 'q8' (int8 values, half the bytes of f16). */
  kv: KvFormat;
  /** KV-cache positions planned at load (prompt + answer). */
  context: number;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  mode: UiMode;
  theme: ThemeChoice;
  /** Heavy mode: solutions decoded together (the model loads with this many KV slots); 1 is off. */
  samples: Samples;
  /** Heavy mode: how the solutions are combined. */
  select: HeavySelect;
  /** Where answers are computed; 'server' uses serverEndpoint and serverModel (the API key is kept apart, see server-key.ts). */
  engine: EngineChoice;
  serverEndpoint: string;
  serverModel: string;
}

export const DEFAULT_SETTINGS: Settings = {
  endpoint: 'https://huggingface.co',
  repo: 'nvidia/OpenReasoning-Nemotron-1.5B',
  revision: 'main',
  file: '',
  weights: 'q4',
  kv: 'f16',
  context: 16384,
  maxTokens: 8192,
  temperature: 0.6,
  topP: 0.95,
  topK: 0,
  seed: 1,
  mode: 'math',
  theme: 'system',
  samples: 1,
  select: 'genselect',
  engine: 'gpu',
  serverEndpoint: 'http://127.0.0.1:8000',
  serverModel: 'nvidia/OpenReasoning-Nemotron-1.5B',
};

const clamp = (x: number, lo: number, hi: number, fallback: number) => (Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : fallback);

/**
 * Brings any partial, possibly stale or hand-edited settings object into range. Unknown keys are
 * dropped; missing or invalid values take their defaults.
 */
export function sanitizeSettings(input: Partial<Record<keyof Settings, unknown>>): Settings {
  const d = DEFAULT_SETTINGS;
  const str = (v: unknown, fb: string) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : fb);
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
  const int = (v: unknown, lo: number, hi: number, fb: number) => Math.round(clamp(num(v), lo, hi, fb));
  const R = SETTING_RANGES;
  const context = int(input.context, ...R.context, d.context);
  const engine: EngineChoice = input.engine === 'server' ? 'server' : 'gpu';
  const samples = SAMPLE_CHOICES.includes(num(input.samples) as Samples) ? (num(input.samples) as Samples) : d.samples;
  return {
    endpoint: str(input.endpoint, d.endpoint).replace(/\/+$/, ''),
    repo: str(input.repo, d.repo),
    revision: str(input.revision, d.revision),
    file: typeof input.file === 'string' ? (ggufFileOrNull(input.file.trim()) ?? d.file) : d.file,
    weights: (WEIGHT_FORMATS as ReadonlyArray<unknown>).includes(input.weights) ? (input.weights as WeightFormat) : d.weights,
    kv: (KV_FORMATS as ReadonlyArray<unknown>).includes(input.kv) ? (input.kv as KvFormat) : d.kv,
    context,
    maxTokens: int(input.maxTokens, ...R.maxTokens, d.maxTokens),
    temperature: clamp(num(input.temperature), ...R.temperature, d.temperature),
    topP: clamp(num(input.topP), ...R.topP, d.topP),
    topK: int(input.topK, ...R.topK, d.topK),
    seed: int(input.seed, ...R.seed, d.seed),
    mode: UI_MODES.includes(input.mode as UiMode) ? (input.mode as UiMode) : d.mode,
    theme: (['system', 'light', 'dark'] as const).includes(input.theme as ThemeChoice) ? (input.theme as ThemeChoice) : d.theme,
    samples: engine === 'gpu' && samples > LOCAL_MAX_SAMPLES ? LOCAL_MAX_SAMPLES : samples,
    select: SELECT_CHOICES.includes(input.select as HeavySelect) ? (input.select as HeavySelect) : d.select,
    engine,
    serverEndpoint: str(input.serverEndpoint, d.serverEndpoint).replace(/\/+$/, ''),
    serverModel: str(input.serverModel, d.serverModel),
  };
}

export interface SettingsSlice {
  settings: Settings;
  /** Merges a change and re-validates the whole object. */
  updateSettings(change: Partial<Settings>): void;
  /** Puts the Settings panel's values (SAMPLING_KEYS) back to their defaults; the model source, load options, mode and theme stay. */
  resetSampling(): void;
}

/** The settings the Settings panel shows: how answers are sampled and how long they may get. */
export const SAMPLING_KEYS = ['temperature', 'topP', 'topK', 'maxTokens', 'seed'] as const satisfies ReadonlyArray<keyof Settings>;

export const createSettingsSlice: StateCreator<Boxed, [], [], SettingsSlice> = (set) => ({
  settings: DEFAULT_SETTINGS,
  updateSettings: (change) => set((s) => ({ settings: sanitizeSettings({ ...s.settings, ...change }) })),
  resetSampling: () =>
    set((s) => ({ settings: { ...s.settings, ...Object.fromEntries(SAMPLING_KEYS.map((k) => [k, DEFAULT_SETTINGS[k]])) } })),
});
