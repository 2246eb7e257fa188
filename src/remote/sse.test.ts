import { describe, expect, it } from 'vitest';
import { readSse, SseParser } from './sse';

const all = (p: SseParser, pieces: string[]) => pieces.flatMap((x) => p.push(x));

describe('SseParser', () => {
  it('reads data events, [DONE] included, whatever the chunk boundaries', () => {
    const text = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const whole = all(new SseParser(), [text]).map((e) => e.data);
    expect(whole).toEqual(['{"a":1}', '{"b":2}', '[DONE]']);
    // every split point, and one character at a time
    for (let k = 1; k < text.length; k++) expect(all(new SseParser(), [text.slice(0, k), text.slice(k)]).map((e) => e.data)).toEqual(whole);
    expect(all(new SseParser(), Array.from(text)).map((e) => e.data)).toEqual(whole);
  });

  it('joins multi-line data with LF and skips comments, other fields and empty events', () => {
    const evs = all(new SseParser(), [': keep-alive\n\nevent: delta\nid: 7\nretry: 100\ndata: line one\ndata:line two\ndata\n\n\n\ndata:  two spaces\n\n']);
    expect(evs).toEqual([
      { data: 'line one\nline two\n', event: 'delta' },
      { data: ' two spaces', event: 'message' },
    ]);
  });

  it('accepts CRLF and lone CR line ends, even with CR and LF in different chunks', () => {
    const crlf = 'data: x\r\n\r\ndata: y\r\n\r\n';
    for (let k = 1; k < crlf.length; k++) expect(all(new SseParser(), [crlf.slice(0, k), crlf.slice(k)]).map((e) => e.data)).toEqual(['x', 'y']);
    expect(all(new SseParser(), ['data: a\r\rdata: b\r', '\r']).map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('drops an unterminated last event', () => {
    const p = new SseParser();
    expect(p.push('data: whole\n\ndata: half')).toEqual([{ data: 'whole', event: 'message' }]);
    expect(p.end()).toEqual([]);
  });
});

describe('readSse', () => {
  it('decodes UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: π ≈ 3.14 ✓\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const e of readSse(body)) out.push(e.data);
    expect(out).toEqual(['π ≈ 3.14 ✓']);
  });

  it('passes on a failing body', async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulls++ === 0) c.enqueue(new TextEncoder().encode('data: 1\n\n'));
        else c.error(new TypeError('terminated'));
      },
    });
    const out: string[] = [];
    await expect(
      (async () => {
        for await (const e of readSse(body)) out.push(e.data);
      })(),
    ).rejects.toThrow('terminated');
    expect(out).toEqual(['1']);
  });
});
