// The CPU twin of the GPU sampler's first stage (shaders/sample.wgsl, entry `partial`): the valid ids of a
// row are cut into `chunks` contiguous chunks of ceil(n / chunks) ids; each chunk's record holds its best
// `candidates` entries in (logit descending, id ascending) order, the best entry left out (the floor), and
// the sum of exp((l - chunk max) / T) over its finite logits. Logits are cleaned as the sampler cleans them
// (src/sampler/sample.ts). The GPU sums in f32 in its own order; this sums in f64.
import { cleanLogit } from '../sampler/sample';

export interface ChunkEntry {
  id: number;
  /** the cleaned logit */
  logit: number;
}

export interface ChunkRecord {
  /** the best `candidates` entries (fewer when the chunk is smaller) */
  best: ChunkEntry[];
  /** the best entry not in `best`; null when the chunk has no more */
  floor: ChunkEntry | null;
  /** sum of exp((l - max) / T) over the chunk's finite logits; 0 when T <= 0 or none is finite */
  mass: number;
}

export function samplePartials(logits: Float32Array, validVocab: number, chunks: number, temperature: number, candidates = 4): ChunkRecord[] {
  const n = Math.min(validVocab, logits.length);
  const size = Math.ceil(n / chunks);
  const out: ChunkRecord[] = [];
  for (let g = 0; g < chunks; g++) {
    const c0 = Math.min(g * size, n);
    const c1 = Math.min(c0 + size, n);
    const entries: ChunkEntry[] = [];
    for (let i = c0; i < c1; i++) entries.push({ id: i, logit: cleanLogit(logits[i]) });
    entries.sort((a, b) => (b.logit !== a.logit ? b.logit - a.logit : a.id - b.id));
    let mass = 0;
    const max = entries.length > 0 ? entries[0].logit : -Infinity;
    if (temperature > 0 && max > -Infinity) for (const e of entries) if (e.logit > -Infinity) mass += Math.exp((e.logit - max) / temperature);
    out.push({ best: entries.slice(0, candidates), floor: entries[candidates] ?? null, mass });
  }
  return out;
}
