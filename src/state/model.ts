// Model slice: the GPU report (probe), and the model once loaded. The loading itself is a session
// phase (see session.ts); this slice holds what outlives it.
import type { StateCreator } from 'zustand';
import type { GpuReport, ModelInfo } from '../protocol/engine';
import type { ErrorInfo } from '../protocol/errors';
import type { Boxed } from './store';

export type GpuProbe =
  | { kind: 'unknown' }
  | { kind: 'probing' }
  | { kind: 'ok'; report: GpuReport }
  | { kind: 'unavailable'; error: ErrorInfo };

export interface ModelSlice {
  gpu: GpuProbe;
  /** The loaded model, or null when none is loaded. */
  model: ModelInfo | null;
  setGpuProbe(p: GpuProbe): void;
  setModel(info: ModelInfo | null): void;
}

export const createModelSlice: StateCreator<Boxed, [], [], ModelSlice> = (set) => ({
  gpu: { kind: 'unknown' },
  model: null,
  setGpuProbe: (gpu) => set({ gpu }),
  setModel: (model) => set({ model }),
});
