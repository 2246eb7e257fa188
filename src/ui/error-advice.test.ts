// The error panel's advice in words: what to lower or change after running out of GPU memory.
import { describe, expect, it } from 'vitest';
import { advice } from './ErrorPanel';

const oom = { name: 'OutOfMemory', message: 'x', detail: { neededBytes: 3e9, limitBytes: 2e9 } } as const;

describe('out-of-memory advice', () => {
  it('names the context, the q8 KV cache unless chosen, and a smaller weight format', () => {
    const f16 = advice(oom, 'q8', 32768, false, 'f16');
    expect(f16).toContain('Lower the context length (now 32,768 tokens), choose the q8 KV cache (half the memory of f16) or choose a smaller weight format (q4 instead of q8)');
    expect(advice(oom, 'q8', 32768)).toBe(f16); // f16 KV unless told
    const q8 = advice(oom, 'q8', 32768, false, 'q8');
    expect(q8).not.toContain('KV cache');
    expect(q8).toContain('Lower the context length (now 32,768 tokens) or choose a smaller weight format');
    expect(advice(oom, 'q4', 4096, true, 'f32')).toContain('choose the q8 KV cache (half the memory of f16) or choose a smaller .gguf file');
  });
});
