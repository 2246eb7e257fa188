// Where the platform has no CompressionStream (or no 'deflate-raw'), links are made and read with fflate.
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('the DEFLATE back end', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('falls back to fflate without CompressionStream, and its links read back', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    vi.stubGlobal('DecompressionStream', undefined);
    vi.resetModules();
    const { defaultDeflater } = await import('./compress');
    const { decodeShare, encodeShare } = await import('./codec');
    const { SAMPLE } = await import('./test-links');
    expect((await defaultDeflater()).name).toBe('fflate');
    const { url, record } = await encodeShare(SAMPLE, { base: 'https://boxed.test/' });
    expect(await decodeShare(url)).toEqual(record);
  });

  it('falls back to fflate when CompressionStream lacks deflate-raw', async () => {
    const Native = globalThis.CompressionStream;
    class NoRaw extends Native {
      constructor(format: CompressionFormat) {
        if (format === 'deflate-raw') throw new TypeError('unsupported format');
        super(format);
      }
    }
    vi.stubGlobal('CompressionStream', NoRaw);
    vi.resetModules();
    const { defaultDeflater } = await import('./compress');
    expect((await defaultDeflater()).name).toBe('fflate');
  });
});
