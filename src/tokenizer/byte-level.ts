// The GPT-2 byte-level alphabet used by Qwen2's BPE: every byte 0..255 is stood for by one printable
// Unicode character (printable Latin-1 bytes by themselves, the rest shifted to U+0100 and up), so a
// vocabulary token like 'Ġworld' spells the bytes ' world'. This file maps those characters back to bytes.

/** Character code -> byte, for the 256 characters of the byte-level alphabet. */
const CHAR_TO_BYTE: ReadonlyMap<number, number> = (() => {
  const map = new Map<number, number>();
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (printable(b)) map.set(b, b);
    else map.set(256 + shifted++, b);
  }
  return map;
})();

/**
 * The bytes a byte-level token string stands for, or null when a character is outside the alphabet
 * (the string is not a byte-level token).
 */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token.charCodeAt(i));
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}
