// Test helpers: share links built by hand, past the encoder's checks, as a hostile page would make
// them; and sample records.
import { toBase64Url } from './base64url';
import type { Deflater } from './compress';
import type { ShareInput } from './record';

/** A link whose data is `json` as given (any value, any version), packed like a real link. */
export async function rawLink(deflater: Deflater, value: unknown, version = 1, base = 'https://boxed.test/'): Promise<string> {
  const json = typeof value === 'string' ? value : JSON.stringify(value);
  return `${base}#s=${version}.${toBase64Url(await deflater.deflate(new TextEncoder().encode(json)))}`;
}

export const SAMPLE: ShareInput = {
  problem: 'Find all real x with x² − 5x + 6 = 0. <script>alert(1)</script>',
  mode: 'math',
  answer: 'Factor: $(x-2)(x-3)=0$, so $x \\in \\{2, 3\\}$.\n\n```python\nprint([2, 3])\n```\n\n**Answer:** $\\boxed{2, 3}$ 🎉 二',
  reasoning: 'Let me think. <img src=x onerror=alert(1)> The roots multiply to 6 and add to 5…',
  extracted: '2, 3',
  model: { endpoint: 'https://huggingface.co', repo: 'nvidia/OpenReasoning-Nemotron-1.5B', revision: 'main' },
  weights: 'q4',
  sampling: { temperature: 0.6, topP: 0.95, topK: 0, seed: 7 },
  maxTokens: 8192,
  context: 16384,
  stop: 'eos',
  tokens: 321,
  createdAt: 1_790_000_000_000,
};

/** Words in a seeded random order: text that compresses like prose, not like a repeated string. */
export function prose(chars: number, seed = 1): string {
  const words = ['the', 'root', 'sum', 'so', 'we', 'check', 'x', 'equals', 'factor', 'then', 'squared', 'minus', 'plus', 'wait', 'hence', 'two', 'three', 'six', 'five', 'product'];
  let s = seed >>> 0;
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const w = words[s % words.length] + (s % 97 === 0 ? '.\n' : ' ') + (s % 13 === 0 ? String(s % 1000) + ' ' : '');
    out.push(w);
    n += w.length;
  }
  return out.join('').slice(0, chars);
}
