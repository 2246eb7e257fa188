// Draws the app's PNG icons (public/icon-192.png, icon-512.png, icon-maskable-512.png): the "boxed" glyph, a
// white square frame around a filled square, on the theme colour. Encoded here (zlib + CRC-32), no image library.
// The maskable icon fills the whole square and keeps the glyph inside the central safe circle (80%).
// Run: npx tsx scripts/make-icons.ts
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const THEME: [number, number, number] = [0x4f, 0x46, 0xe5];
const WHITE: [number, number, number] = [0xff, 0xff, 0xff];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** RGBA pixels (row-major) -> PNG bytes. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
}

/** Colour of a point (u, v in 0..1) of the icon, or null for transparent. */
function shade(u: number, v: number, maskable: boolean): [number, number, number] | null {
  const inRoundRect = (x0: number, x1: number, r: number) => {
    const dx = Math.max(x0 + r - u, 0, u - (x1 - r));
    const dy = Math.max(x0 + r - v, 0, v - (x1 - r));
    return u >= x0 && u <= x1 && v >= x0 && v <= x1 && dx * dx + dy * dy <= r * r;
  };
  if (!maskable && !inRoundRect(0.02, 0.98, 0.2)) return null;
  // the glyph, centred; smaller in the maskable icon so it stays inside the safe circle
  const s = maskable ? 0.78 : 1;
  const g = (x: number) => 0.5 + (x - 0.5) / s;
  const gu = g(u);
  const gv = g(v);
  const inSquare = (a: number, b: number) => gu >= a && gu <= b && gv >= a && gv <= b;
  const frame = inSquare(0.22, 0.78) && !inSquare(0.3, 0.7);
  const core = inSquare(0.38, 0.62);
  return frame || core ? WHITE : THEME;
}

export function drawIcon(size: number, maskable: boolean): Buffer {
  const px = new Uint8Array(size * size * 4);
  const ss = 4; // 4x4 samples per pixel
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let j = 0; j < ss; j++) {
        for (let i = 0; i < ss; i++) {
          const c = shade((x + (i + 0.5) / ss) / size, (y + (j + 0.5) / ss) / size, maskable);
          if (!c) continue;
          r += c[0];
          g += c[1];
          b += c[2];
          a++;
        }
      }
      const o = (y * size + x) * 4;
      if (a > 0) px.set([Math.round(r / a), Math.round(g / a), Math.round(b / a), Math.round((255 * a) / (ss * ss))], o);
    }
  }
  return encodePng(size, size, px);
}

if (process.argv[1]?.endsWith('make-icons.ts')) {
  writeFileSync('public/icon-192.png', drawIcon(192, false));
  writeFileSync('public/icon-512.png', drawIcon(512, false));
  writeFileSync('public/icon-maskable-512.png', drawIcon(512, true));
  console.log('public/icon-192.png, public/icon-512.png, public/icon-maskable-512.png written');
}
