// What a GGUF model holds, for ModelInfo: general.file_type by llama.cpp's name (its llama_ftype numbers:
// "MOSTLY_Q4_K_M" = 15 is shown as "Q4_K_M"), and the model's tensors grouped by GGML block type with their
// counts and stored bytes. A file whose metadata does not say its type (or names a number not listed here)
// has fileType null; its block types still say what it holds.
import type { Checkpoint } from '../loader/checkpoint';
import type { GgufInfo, GgufTypeCount } from '../protocol/engine';

/** llama.cpp's llama_ftype values (4-6 and 33-35 were removed from GGUF files). */
const FILE_TYPES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  19: 'IQ2_XXS',
  20: 'IQ2_XS',
  21: 'Q2_K_S',
  22: 'IQ3_XS',
  23: 'IQ3_XXS',
  24: 'IQ1_S',
  25: 'IQ4_NL',
  26: 'IQ3_S',
  27: 'IQ3_M',
  28: 'IQ2_S',
  29: 'IQ2_M',
  30: 'IQ4_XS',
  31: 'IQ1_M',
  32: 'BF16',
  36: 'TQ1_0',
  37: 'TQ2_0',
  38: 'MXFP4_MOE',
};

/** general.file_type's name; null for a missing or unknown value. */
export function fileTypeName(v: number | null | undefined): string | null {
  return v === null || v === undefined ? null : (FILE_TYPES[v] ?? null);
}

/** The GGUF facts of a checkpoint read from a GGUF file; undefined for any other checkpoint. */
export function ggufInfo(c: Pick<Checkpoint, 'ggml' | 'tensorNames' | 'info'>): GgufInfo | undefined {
  const g = c.ggml;
  if (!g) return undefined;
  const by = new Map<string, GgufTypeCount>();
  for (const name of c.tensorNames) {
    const type = g.type(name);
    const e = by.get(type) ?? { type, tensors: 0, bytes: 0 };
    e.tensors++;
    e.bytes += c.info(name).byteLength;
    by.set(type, e);
  }
  const types = [...by.values()].sort((a, b) => b.bytes - a.bytes || a.type.localeCompare(b.type));
  return { fileType: fileTypeName(g.fileType), types };
}
