// The share codec against hostile and oversized links, on both DEFLATE back ends (the platform's
// CompressionStream and fflate), which must read each other's links.
import { describe, expect, it } from 'vitest';
import { BoxedError } from '../protocol/errors';
import { toBase64Url } from './base64url';
import { defaultDeflater, fflateDeflater, nativeDeflater, type Deflater } from './compress';
import { cutMarker, decodeShare, encodeShare, MAX_JSON_BYTES, MAX_URL_CHARS, shareFragment, shareId } from './codec';
import { LIMITS, validateRecord } from './record';
import { prose, rawLink, SAMPLE } from './test-links';

const BASE = 'https://boxed.test/app/';

/** The `detail.share` reason of the BoxedError the promise rejects with. */
async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BoxedError);
    expect((e as BoxedError).name).toBe('InvalidRequest');
    return String((e as BoxedError).detail?.share);
  }
  throw new Error('expected a rejection');
}

const backends: Array<[string, () => Promise<Deflater>]> = [
  ['native', async () => nativeDeflater],
  ['fflate', fflateDeflater],
];

describe('share links', () => {
  it('uses the platform codec where it has deflate-raw', async () => {
    expect((await defaultDeflater()).name).toBe('native');
  });

  it.each([
    ['native', 'fflate'],
    ['fflate', 'native'],
    ['native', 'native'],
    ['fflate', 'fflate'],
  ])('round-trips a record: made with %s, read with %s', async (by, with_) => {
    const maker = by === 'native' ? nativeDeflater : await fflateDeflater();
    const reader = with_ === 'native' ? nativeDeflater : await fflateDeflater();
    const input = {
      ...SAMPLE,
      model: { ...SAMPLE.model!, commit: 'a'.repeat(40) },
      heavy: {
        n: 4,
        candidates: [
          { answer: '2, 3', stop: 'eos' as const },
          { answer: '2, 3', stop: 'eos' as const },
          { answer: null, stop: 'max-tokens' as const },
          { answer: '6', stop: 'eos' as const },
        ],
        tally: [
          { answer: '2, 3', votes: 2 },
          { answer: '6', votes: 1 },
        ],
        method: 'genselect' as const,
        chosen: 1,
        judgment: 'Solution 2 checks both roots. Judgment: 2',
      },
    };
    const { url, fragment, record } = await encodeShare(input, { base: BASE, deflater: maker });
    expect(url.startsWith(BASE + '#s=1.')).toBe(true);
    expect(fragment).toMatch(/^#s=1\.[A-Za-z0-9_-]+$/);
    expect(record).toEqual({ ...input, v: 1 });
    expect(await decodeShare(url, reader)).toEqual(record);
    // the fragment alone, and a bare 's=…', read the same
    expect(await decodeShare(fragment, reader)).toEqual(record);
    expect(await decodeShare(fragment.slice(1), reader)).toEqual(record);
  });

  it('drops the base address’s own fragment and refuses a non-http(s) base', async () => {
    const { url } = await encodeShare(SAMPLE, { base: 'http://127.0.0.1:5173/#old' });
    expect(url.startsWith('http://127.0.0.1:5173/#s=1.')).toBe(true);
    await expect(encodeShare(SAMPLE, { base: 'javascript:alert(1)//' })).rejects.toThrow(/http\(s\)/);
  });

  it('keeps a short reasoning whole', async () => {
    const { record } = await encodeShare(SAMPLE, { base: BASE });
    expect(record.reasoning).toBe(SAMPLE.reasoning);
    expect(record.reasoningCut).toBeUndefined();
  });

  it.each(backends)('cuts a long reasoning in the middle, with a marker, to fill the link (%s)', async (_name, make) => {
    const deflater = await make();
    const whole = prose(400_000);
    const { url, record } = await encodeShare({ ...SAMPLE, reasoning: whole }, { base: BASE, deflater });
    expect(url.length).toBeLessThanOrEqual(MAX_URL_CHARS);
    // the search filled the link: within a few percent of the cap
    expect(url.length).toBeGreaterThan(MAX_URL_CHARS * 0.95);
    const cut = record.reasoningCut!;
    expect(cut).toBeGreaterThan(0);
    const marker = cutMarker(cut);
    const at = record.reasoning.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const head = record.reasoning.slice(0, at);
    const tail = record.reasoning.slice(at + marker.length);
    expect(whole.startsWith(head)).toBe(true);
    expect(whole.endsWith(tail)).toBe(true);
    expect(head.length + cut + tail.length).toBe(whole.length);
    const back = await decodeShare(url, deflater);
    expect(back.reasoning).toBe(record.reasoning);
    expect(back.reasoningCut).toBe(cut);
    expect(back.answer).toBe(SAMPLE.answer);
  });

  it('never splits a surrogate pair at a cut', async () => {
    const whole = '😀'.repeat(60_000) + prose(200_000, 5);
    const { record } = await encodeShare({ ...SAMPLE, reasoning: whole }, { base: BASE });
    expect(record.reasoningCut).toBeGreaterThan(0);
    expect(record.reasoning).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('adds to an earlier cut when a shared, already cut record is shared again', async () => {
    const first = await encodeShare({ ...SAMPLE, reasoning: prose(300_000, 2) }, { base: BASE });
    const again = await encodeShare({ ...first.record, reasoning: first.record.reasoning + prose(100_000, 3) }, { base: BASE });
    expect(again.record.reasoningCut!).toBeGreaterThan(first.record.reasoningCut!);
  });

  it('refuses a record whose problem and answer alone do not fit', async () => {
    expect(await reason(encodeShare({ ...SAMPLE, answer: prose(200_000, 9) }, { base: BASE }))).toBe('too-long');
  });

  it('writes format 1 unless the model names a file, then format 2; both round-trip', async () => {
    const plain = await encodeShare(SAMPLE, { base: BASE });
    expect(plain.fragment).toMatch(/^#s=1\./);
    expect(plain.record.v).toBe(1);
    const file = 'Q4_K_M/OpenReasoning-Nemotron-1.5B-Q4_K_M.gguf';
    const nested = await encodeShare({ ...SAMPLE, model: { ...SAMPLE.model!, commit: 'b'.repeat(40), file } }, { base: BASE });
    expect(nested.fragment).toMatch(/^#s=2\./);
    const back = await decodeShare(nested.url);
    expect(back.v).toBe(2);
    expect(back.model).toEqual({ ...SAMPLE.model, commit: 'b'.repeat(40), file });
    expect(back).toEqual(nested.record);
    // a decoded record shared again keeps its format
    expect((await encodeShare(back, { base: BASE })).fragment).toMatch(/^#s=2\./);
  });

  it('refuses to make a link of another version, or from an invalid record', async () => {
    expect(await reason(encodeShare({ ...SAMPLE, v: 2 }, { base: BASE }))).toBe('version');
    expect(await reason(encodeShare({ ...SAMPLE, v: 3 }, { base: BASE }))).toBe('version');
    expect(await reason(encodeShare({ ...SAMPLE, model: { ...SAMPLE.model!, file: '../x.gguf' } }, { base: BASE }))).toBe('model');
    expect(await reason(encodeShare({ ...SAMPLE, reasoning: 5 as unknown as string }, { base: BASE }))).toBe('type');
  });

  it('gives the same id to the same link and another to another', async () => {
    const a = await encodeShare(SAMPLE, { base: BASE });
    const b = await encodeShare({ ...SAMPLE, answer: SAMPLE.answer + '.' }, { base: BASE });
    expect(shareId(a.fragment)).toBe(shareId(a.fragment));
    expect(shareId(a.fragment)).toMatch(/^[0-9a-f]{16}$/);
    expect(shareId(a.fragment)).not.toBe(shareId(b.fragment));
  });
});

describe('hostile and broken links', () => {
  const good = async () => (await encodeShare(SAMPLE, { base: BASE })).fragment;

  it('finds the share part of a link, and only that', () => {
    expect(shareFragment('https://x.test/#s=1.abc')).toBe('s=1.abc');
    expect(shareFragment('#s=1.abc')).toBe('s=1.abc');
    expect(shareFragment('https://x.test/#settings')).toBeNull();
    expect(shareFragment('https://x.test/?s=1.abc')).toBeNull();
  });

  it.each([
    ['no share part', 'https://boxed.test/#hello', 'not-a-link'],
    ['no format number', '#s=abc', 'base64'],
    ['a character outside base64url', '#s=1.ab$d', 'base64'],
    ['standard base64 padding', '#s=1.q1YqSy0qzszPUzJUsgYA=', 'base64'],
    ['non-ASCII letters', '#s=1.ñññññ', 'base64'],
    ['an impossible length', '#s=1.abcde', 'base64'],
    ['no data', '#s=1.', 'base64'],
    ['data that is not DEFLATE', '#s=1.' + toBase64Url(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x00, 0x01])), 'deflate'],
    ['a newer format', '#s=3.q1YqSy0qzszPUzJUsgYA', 'version'],
    ['format 0', '#s=0.q1YqSy0qzszPUzJUsgYA', 'version'],
  ])('refuses %s', async (_what, link, why) => {
    expect(await reason(decodeShare(link))).toBe(why);
  });

  it('refuses a link cut short, with either back end', async () => {
    const frag = await good();
    for (const [, make] of backends) {
      const r = await reason(decodeShare(frag.slice(0, Math.floor(frag.length / 2)), await make()));
      expect(['deflate', 'base64']).toContain(r);
    }
  });

  it('refuses data that is not UTF-8 text, or not JSON', async () => {
    const d = nativeDeflater;
    const bytes = (b: number[]) => d.deflate(new Uint8Array(b));
    expect(await reason(decodeShare('#s=1.' + toBase64Url(await bytes([0x7b, 0xff, 0xfe, 0x7d]))))).toBe('utf8');
    expect(await reason(decodeShare(await rawLink(d, '{"problem": ')))).toBe('json');
    expect(await reason(decodeShare(await rawLink(d, '[1, 2, 3]')))).toBe('type');
  });

  it('refuses megabytes of link text before decoding any of it', async () => {
    const huge = '#s=1.' + 'A'.repeat(3 << 20);
    expect(await reason(decodeShare(huge))).toBe('too-large');
  });

  it.each(backends)('stops a decompression bomb early (%s)', async (_name, make) => {
    const deflater = await make();
    // 24 MiB of zeros packs to ~24 KB: a link-sized fragment that would unpack to 12x the cap
    const { deflateSync } = await import('fflate');
    const bomb = deflateSync(new Uint8Array(24 << 20), { level: 9 });
    const link = '#s=1.' + toBase64Url(bomb);
    expect(link.length).toBeLessThan(36_000);
    try {
      await decodeShare(link, deflater);
      throw new Error('expected a rejection');
    } catch (e) {
      expect((e as BoxedError).detail?.share).toBe('too-large');
      const unpacked = Number((e as BoxedError).detail?.unpacked);
      expect(unpacked).toBeGreaterThan(MAX_JSON_BYTES);
      // stopped within one piece's output of the cap, far short of the 24 MiB
      expect(unpacked).toBeLessThan(MAX_JSON_BYTES + (512 << 10));
    }
  });

  it('refuses a record of a newer version inside a format-1 link', async () => {
    expect(await reason(decodeShare(await rawLink(nativeDeflater, { ...SAMPLE, v: 2 })))).toBe('version');
    expect(await reason(decodeShare(await rawLink(nativeDeflater, { ...SAMPLE, v: 3 }, 1)))).toBe('version');
    // a record naming a file is format 2: stated as 1, or packed in a link that says 1, it is refused
    const withFile = { ...SAMPLE, model: { ...SAMPLE.model!, file: 'q/model-Q4_K_M.gguf' } };
    expect(await reason(decodeShare(await rawLink(nativeDeflater, { ...withFile, v: 1 }, 1)))).toBe('version');
    expect(await reason(decodeShare(await rawLink(nativeDeflater, { ...withFile, v: 2 }, 1)))).toBe('version');
    expect(await reason(decodeShare(await rawLink(nativeDeflater, { ...SAMPLE, v: 1 }, 2)))).toBe('version');
    expect((await decodeShare(await rawLink(nativeDeflater, { ...withFile, v: 2 }, 2))).model?.file).toBe('q/model-Q4_K_M.gguf');
    const { v: _v, ...noVersion } = { ...SAMPLE, v: 1 };
    expect(await reason(decodeShare(await rawLink(nativeDeflater, noVersion)))).toBe('version');
  });

  const withV = (change: Record<string, unknown>) => ({ ...SAMPLE, v: 1, ...change });
  const model = (change: Record<string, unknown>) => withV({ model: { ...SAMPLE.model, ...change } });
  const heavy = (change: Record<string, unknown>) =>
    withV({ heavy: { n: 2, candidates: [{ answer: '1', stop: 'eos' }, { answer: null, stop: 'eos' }], tally: [{ answer: '1', votes: 1 }], method: 'majority', chosen: 0, ...change } });

  it.each<[string, unknown, string]>([
    ['a number for the problem', withV({ problem: 5 }), 'type'],
    ['an empty problem', withV({ problem: '  ' }), 'type'],
    ['the raw mode', withV({ mode: 'raw' }), 'type'],
    ['an unknown mode', withV({ mode: '<b>x</b>' }), 'type'],
    ['a null answer', withV({ answer: null }), 'type'],
    ['a list for the reasoning', withV({ reasoning: ['a'] }), 'type'],
    ['a number for the extracted answer', withV({ extracted: 4 }), 'type'],
    ['an unknown field', withV({ onload: 'alert(1)' }), 'field'],
    ['a __proto__ field', JSON.parse(JSON.stringify(withV({})).replace('{', '{"__proto__":{"polluted":1},')), 'field'],
    ['text for the temperature', withV({ sampling: { ...SAMPLE.sampling, temperature: '0.6' } }), 'type'],
    ['a temperature out of range', withV({ sampling: { ...SAMPLE.sampling, temperature: 50 } }), 'type'],
    ['a fractional seed', withV({ sampling: { ...SAMPLE.sampling, seed: 1.5 } }), 'type'],
    ['a missing top-k', withV({ sampling: { temperature: 0, topP: 1, seed: 1 } }), 'type'],
    ['an unknown weight format', withV({ weights: 'q3' }), 'type'],
    ['max tokens of zero', withV({ maxTokens: 0 }), 'type'],
    ['an unknown stop reason', withV({ stop: 'exploded' }), 'type'],
    ['a negative creation time', withV({ createdAt: -1 }), 'type'],
    ['a text model', withV({ model: 'nvidia/x' }), 'type'],
    ['a javascript: endpoint', model({ endpoint: 'javascript:alert(1)' }), 'endpoint'],
    ['a data: endpoint', model({ endpoint: 'data:text/html,<script>alert(1)</script>' }), 'endpoint'],
    ['a file: endpoint', model({ endpoint: 'file:///etc/passwd' }), 'endpoint'],
    ['an ftp endpoint', model({ endpoint: 'ftp://example.com' }), 'endpoint'],
    ['an endpoint with credentials', model({ endpoint: 'https://user:pw@example.com' }), 'endpoint'],
    ['a relative endpoint', model({ endpoint: '/api' }), 'endpoint'],
    ['a path in the repo', model({ repo: '../../etc/passwd' }), 'model'],
    ['a repo with HTML', model({ repo: '<img src=x>/y' }), 'model'],
    ['a commit that is not hex', model({ commit: 'z'.repeat(40) }), 'model'],
    ...(
      [
        ['a file that climbs out', '../../secret.gguf'],
        ['a file inside a climb', 'q/../../x.gguf'],
        ['an absolute file', '/etc/x.gguf'],
        ['a file in a current-folder part', './x.gguf'],
        ['a file with an empty part', 'q//x.gguf'],
        ['a file that is not .gguf', 'model.safetensors'],
        ['a file named only .gguf by a query', 'x.bin?.gguf'],
        ['a file with a backslash', 'q\\..\\x.gguf'],
        ['a file with an escape', 'x%2F..%2Fy.gguf'],
        ['a file with a space', 'my model.gguf'],
        ['a file URL', 'https://evil.test/x.gguf'],
        ['an empty file', ''],
      ] as const
    ).map(([what, file]): [string, unknown, string] => [what, { ...model({ file }), v: 2 }, 'model']),
    ['a file that is not text', { ...model({ file: 7 }), v: 2 }, 'type'],
    ['a file over its limit', { ...model({ file: `${'d/'.repeat(LIMITS.file / 2)}x.gguf` }), v: 2 }, 'length'],
    ['heavy mode with one candidate', heavy({ n: 1, candidates: [{ answer: '1', stop: 'eos' }] }), 'type'],
    ['heavy mode with too few candidates', heavy({ n: 3 }), 'type'],
    ['heavy mode choosing past the end', heavy({ chosen: 2 }), 'type'],
    ['heavy mode with more votes than candidates', heavy({ tally: [{ answer: '1', votes: 2 }, { answer: '2', votes: 1 }] }), 'type'],
    ['heavy mode with an unknown method', heavy({ method: 'dice' }), 'type'],
    ['heavy mode with a long judgment', heavy({ judgment: 'j'.repeat(LIMITS.judgment + 1) }), 'length'],
    ['a candidate that is a number', heavy({ candidates: [7, { answer: null, stop: 'eos' }] }), 'type'],
    ['a problem over its limit', withV({ problem: 'p'.repeat(LIMITS.problem + 1) }), 'length'],
  ])('refuses a record with %s', async (_what, value, why) => {
    const v = (value as { v?: unknown }).v === 2 ? 2 : 1;
    expect(await reason(decodeShare(await rawLink(nativeDeflater, value, v)))).toBe(why);
  });

  it('refuses data that unpacks past the cap even when each field is in its limits', async () => {
    const big = withV({ answer: 'a'.repeat(LIMITS.answer), reasoning: 'r'.repeat(LIMITS.reasoning), problem: 'p'.repeat(LIMITS.problem) });
    // three fields at their limits are under the cap; a fourth copy of the text pushes past it
    const over = JSON.stringify(big).replace('"answer"', `"pad": "${'x'.repeat(MAX_JSON_BYTES)}", "answer"`);
    expect(await reason(decodeShare(await rawLink(nativeDeflater, over)))).toBe('too-large');
    expect((await decodeShare(await rawLink(nativeDeflater, big))).reasoning.length).toBe(LIMITS.reasoning);
  });

  it('keeps script and HTML in every text field as the exact text, nothing more', async () => {
    const html = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>';
    const value = withV({ problem: html, answer: html, reasoning: html, extracted: html });
    const back = await decodeShare(await rawLink(nativeDeflater, value));
    expect([back.problem, back.answer, back.reasoning, back.extracted]).toEqual([html, html, html, html]);
  });

  it('accepts an http endpoint (a local hub) and normalizes its trailing slash', () => {
    const r = validateRecord(model({ endpoint: 'http://127.0.0.1:8080/' }));
    expect(r.model?.endpoint).toBe('http://127.0.0.1:8080');
  });
});
