// Share links: a record (record.ts) as JSON → UTF-8 → raw DEFLATE → base64url, in the URL's fragment
// (`#s=1.DATA`, the number being the record's format: record.ts), which browsers never send to a server.
// A link stays under MAX_URL_CHARS: when the whole record does not fit, the middle of the reasoning
// is cut out and a visible marker put in its place. Decoding refuses, with a typed error and before
// any work it can skip: fragments longer than any link this makes, unknown versions, bad base64,
// data that unpacks past MAX_JSON_BYTES (stopped as it unpacks), bad UTF-8 or JSON, and bad records.
import { BoxedError } from '../protocol/errors';
import { fromBase64Url, toBase64Url } from './base64url';
import { defaultDeflater, type Deflater } from './compress';
import { badLink, formatFor, LIMITS, SHARE_FORMATS, SHARE_VERSION, validateRecord, type ShareInput, type ShareRecord } from './record';

/** The longest link this makes ("about 32 KB of URL"), base included. */
export const MAX_URL_CHARS = 32_000;
/** The longest fragment this reads: a little over the cap, so a link with a longer base still opens. */
export const MAX_FRAGMENT_CHARS = 36_000;
/** The most a link's data may unpack to. */
export const MAX_JSON_BYTES = 2 * 1024 * 1024;
export const FRAGMENT_KEY = 's';

export interface EncodeOptions {
  /** The app's address the fragment is added to (http or https); its own fragment is dropped. */
  base: string;
  deflater?: Deflater;
}

export interface EncodedShare {
  url: string;
  /** The fragment, with its '#'. */
  fragment: string;
  /** The record as it is in the link (reasoning possibly cut). */
  record: ShareRecord;
}

/** The marker that stands where reasoning was cut out. */
export function cutMarker(chars: number): string {
  return `\n\n[… ${chars.toLocaleString('en-US')} characters of reasoning cut here to fit the link …]\n\n`;
}

const isLowSurrogate = (text: string, i: number) => i > 0 && i < text.length && (text.charCodeAt(i) & 0xfc00) === 0xdc00;

/** Keeps `keep` characters of `text` (the first 60% and the last 40% of them) around a cut marker. */
export function cutMiddle(text: string, keep: number): { text: string; cut: number } {
  if (keep >= text.length) return { text, cut: 0 };
  let head = Math.ceil(keep * 0.6);
  let tailStart = text.length - (keep - head);
  if (isLowSurrogate(text, head)) head--;
  if (isLowSurrogate(text, tailStart)) tailStart++;
  const cut = tailStart - head;
  return { text: text.slice(0, head) + cutMarker(cut) + text.slice(tailStart), cut };
}

/** The base address a link is made on: absolute http(s), without its fragment. */
export function shareBase(base: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new BoxedError('InvalidRequest', `the link base '${base.slice(0, 200)}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BoxedError('InvalidRequest', `the link base must be an http(s) URL, got '${u.protocol}'`);
  u.hash = '';
  return u.href;
}

async function pack(record: ShareRecord, deflater: Deflater): Promise<{ fragment: string; jsonBytes: number }> {
  const json = new TextEncoder().encode(JSON.stringify(record));
  const data = toBase64Url(await deflater.deflate(json));
  return { fragment: `#${FRAGMENT_KEY}=${record.v}.${data}`, jsonBytes: json.length };
}

/**
 * Makes the link for a record. The reasoning is cut (in the middle, with a marker) to the most that
 * fits; a record whose problem and answer alone do not fit is refused (copy it as Markdown instead).
 */
export async function encodeShare(input: ShareInput, opts: EncodeOptions): Promise<EncodedShare> {
  const base = shareBase(opts.base);
  // the link's format is the lowest that holds the record (record.ts); a stated one must be that one
  const v = formatFor(input);
  if (input.v !== undefined && input.v !== v) throw badLink('version', `the record's version is ${String(input.v).slice(0, 20)}; this record is written as format ${v}`);
  const deflater = opts.deflater ?? (await defaultDeflater());
  const whole = typeof input.reasoning === 'string' ? input.reasoning : '';
  const priorCut = typeof input.reasoningCut === 'number' ? input.reasoningCut : 0;
  const withKeep = (keep: number): ShareRecord => {
    const { text, cut } = cutMiddle(whole, keep);
    return validateRecord({ ...input, v, reasoning: text, reasoningCut: priorCut + cut }, true);
  };
  // validates the input as a whole first (a non-text reasoning fails here, not as a cut)
  validateRecord({ ...input, v, reasoning: typeof input.reasoning === 'string' ? whole.slice(0, LIMITS.reasoning) : input.reasoning }, true);
  const tryKeep = async (keep: number) => {
    const record = withKeep(keep);
    const { fragment, jsonBytes } = await pack(record, deflater);
    const ok = base.length + fragment.length <= MAX_URL_CHARS && jsonBytes <= MAX_JSON_BYTES;
    return { ok, record, fragment };
  };
  const reasoningRoom = Math.min(whole.length, LIMITS.reasoning - cutMarker(whole.length).length);
  let best = await tryKeep(whole.length <= LIMITS.reasoning ? whole.length : reasoningRoom);
  if (!best.ok) {
    const none = await tryKeep(0);
    if (!none.ok) {
      throw new BoxedError('InvalidRequest', `the problem and the answer alone do not fit in a ${MAX_URL_CHARS.toLocaleString('en-US')}-character link; copy the solution as Markdown instead`, {
        detail: { share: 'too-long' },
      });
    }
    best = none;
    // the longest kept reasoning that still fits (the packed size grows with it, nearly monotonically)
    let lo = 0;
    let hi = reasoningRoom;
    while (hi - lo > 16) {
      const mid = Math.floor((lo + hi) / 2);
      const t = await tryKeep(mid);
      if (t.ok) {
        lo = mid;
        best = t;
      } else hi = mid;
    }
  }
  return { url: base + best.fragment, fragment: best.fragment, record: best.record };
}

/** The share fragment in a URL, a fragment ('#s=…') or a bare 's=…'; null when the text holds none. */
export function shareFragment(text: string): string | null {
  const hash = text.indexOf('#');
  const frag = hash >= 0 ? text.slice(hash + 1) : text;
  return frag.startsWith(`${FRAGMENT_KEY}=`) ? frag : null;
}

/** Decodes and validates a share link (a URL or its fragment). Every failure is an InvalidRequest. */
export async function decodeShare(link: string, deflater?: Deflater): Promise<ShareRecord> {
  const frag = shareFragment(link);
  if (frag === null) throw badLink('not-a-link', 'this is not a Boxed share link (it has no #s=… part)');
  if (frag.length > MAX_FRAGMENT_CHARS) {
    throw badLink('too-large', `the link is ${frag.length.toLocaleString('en-US')} characters long, longer than any Boxed share link`);
  }
  const m = /^s=(\d{1,9})\.([\s\S]*)$/.exec(frag);
  if (!m) throw badLink('base64', 'the link is damaged: it has no format number');
  const version = Number(m[1]);
  if (!(SHARE_FORMATS as readonly number[]).includes(version)) {
    throw badLink(
      'version',
      version > SHARE_VERSION ? `this link was made by a newer Boxed (format ${version}); this one reads formats up to ${SHARE_VERSION}` : `the link names format ${version}, which Boxed never made`,
    );
  }
  const bytes = fromBase64Url(m[2]);
  if (bytes.length === 0) throw badLink('base64', 'the link is damaged: it holds no data');
  const json = await (deflater ?? (await defaultDeflater())).inflate(bytes, MAX_JSON_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw badLink('utf8', 'the link is damaged: its data is not text');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badLink('json', 'the link is damaged: its data is not a record');
  }
  const record = validateRecord(value, true);
  if (record.v !== version) throw badLink('version', `the link says format ${version} but its record is format ${record.v}`);
  return record;
}

/** A short, stable id for a link's content (FNV-1a over its fragment, two 32-bit lanes). */
export function shareId(fragment: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < fragment.length; i++) {
    const c = fragment.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 0x100) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
