// Server-Sent Events as OpenAI-compatible servers stream them (the WHATWG "event stream" format): lines
// end in LF, CR or CRLF; `data:` lines accumulate (joined with LF) until a blank line ends the event;
// lines starting with ':' are comments (keep-alives); `event:`, `id:` and `retry:` fields are read and
// otherwise ignored. Chunks may split anywhere, even between a CR and its LF, or inside a UTF-8 sequence.

export interface SseEvent {
  /** The event's `data:` lines joined with LF. */
  data: string;
  /** The `event:` field, when the server sent one ('message' otherwise). */
  event: string;
}

/** A push parser: feed it text in any pieces, get whole events back. */
export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  /** The last chunk ended in CR: a LF at the start of the next chunk belongs to it. */
  private pendingCr = false;

  push(text: string): SseEvent[] {
    let s = text;
    if (this.pendingCr && s.startsWith('\n')) s = s.slice(1);
    this.pendingCr = false;
    this.buf += s;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // a CR at the very end may be the first half of CRLF: take the line, and drop a LF that follows
      if (m[0] === '\r' && m.index === this.buf.length - 1) this.pendingCr = true;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** The end of the stream: an unterminated last event is dropped, as the format says. */
  end(): SseEvent[] {
    this.buf = '';
    this.data = [];
    this.event = '';
    return [];
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const ev = { data: this.data.join('\n'), event: this.event || 'message' };
      this.data = [];
      this.event = '';
      return ev;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return null;
  }
}

/** Reads a fetch body as SSE events. The reader's errors (a cut connection, an abort) propagate. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) yield ev;
    }
    finished = true;
    for (const ev of parser.push(decoder.decode())) yield ev;
    parser.end();
  } finally {
    // the consumer stopped early (or the read failed): let the connection go
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
