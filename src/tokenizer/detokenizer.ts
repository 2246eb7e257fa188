// Streaming detokenizer: turns token ids into text one at a time, as they are generated.
// Byte-level BPE tokens may hold part of a character (an emoji's 4 bytes can span 2 or 3 tokens), so the
// bytes go through one streaming UTF-8 decoder that holds back an incomplete character until its last byte
// arrives. Added tokens (`<|im_end|>` ...) end the byte run first, as Tokenizer.decode does, so the
// concatenated output of push()... flush() equals tok.decode(all ids) exactly. Work per token is O(1).
import type { Tokenizer } from './tokenizer';

/** What the detokenizer needs from a tokenizer. */
export type DetokenizerSource = Pick<Tokenizer, 'tokenBytes' | 'isAdded' | 'isSpecial'>;

export class StreamingDetokenizer {
  // ignoreBOM keeps a leading U+FEFF as text, as the tokenizer's own decoder does.
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly plain = new TextDecoder('utf-8', { ignoreBOM: true });
  private readonly skipSpecial: boolean;

  constructor(
    private readonly tok: DetokenizerSource,
    opts: { skipSpecial?: boolean } = {},
  ) {
    this.skipSpecial = opts.skipSpecial ?? false;
  }

  /** Adds one token; returns the text it completes (possibly '', when a character is still incomplete). */
  push(id: number): string {
    // A skipped special token is dropped before decoding, as in decode(): the byte run goes on across it.
    if (this.skipSpecial && this.tok.isSpecial(id)) return '';
    if (this.tok.isAdded(id)) {
      // An added token stands alone: pending bytes are decoded first (as U+FFFD if incomplete).
      return this.flush() + this.plain.decode(this.tok.tokenBytes(id));
    }
    return this.utf8.decode(this.tok.tokenBytes(id), { stream: true });
  }

  /** Ends the stream: pending bytes of an incomplete character come out as U+FFFD. Ready for reuse after. */
  flush(): string {
    return this.utf8.decode();
  }
}
