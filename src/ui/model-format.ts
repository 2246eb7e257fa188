// How the app names a loaded model's weights: a Boxed format (q4, q8, f16, f32) for safetensors, or what a
// GGUF file holds (its file type and block types, from ModelInfo.gguf).
import type { GgufInfo, ModelInfo } from '../protocol/engine';
import { formatBytes } from './units';

/** "Q4_K_M (Q4_K ×170, Q6_K ×29, F32 ×141)": the file type, then the block types with their tensor counts. */
export function ggufSummary(g: GgufInfo): string {
  const types = g.types.map((t) => `${t.type} ×${t.tensors}`).join(', ');
  return g.fileType ? `${g.fileType} (${types})` : types;
}

/** The block types with their stored bytes, for a title: "Q4_K: 170 tensors, 812 MB; ...". */
export function ggufDetail(g: GgufInfo): string {
  return g.types.map((t) => `${t.type}: ${t.tensors} tensor${t.tensors === 1 ? '' : 's'}, ${formatBytes(t.bytes)}`).join('; ');
}

/** The short weights label: the GGUF file type (or its largest block type), else the Boxed format. */
export function weightsLabel(m: Pick<ModelInfo, 'weights' | 'gguf'>): string {
  if (!m.gguf) return m.weights;
  return `GGUF ${m.gguf.fileType ?? m.gguf.types[0]?.type ?? ''}`.trim();
}

/** The long weights phrase: "Q4_K_M GGUF (Q4_K ×170, ...)" or "Q4 weights". */
export function weightsPhrase(m: Pick<ModelInfo, 'weights' | 'gguf'>): string {
  return m.gguf ? `GGUF ${ggufSummary(m.gguf)}` : `${m.weights.toUpperCase()} weights`;
}
