// Weight formats (src/loader/quant.ts), decoded one BLOCK of 8 consecutive values of a row at a time.
// Appended to the matmul and embed shaders; they declare the bindings this snippet reads:
//   wq:     array<u32>  [rows, wordsPerRow]   packed weight words of the current chunk
//   scales: array<f32>  [rows, groupsPerRow]  per-32-value group scales (fmt_q8 only, `scale_buf`; q4's are in wq)
// Exactly one of the defines fmt_q4, fmt_q8, fmt_f16, fmt_f32 is true (plus `scaled` = q4 or q8, and
// `fmt_boxed` = one of these four), or a GGUF block format (fmt_bf16, or fmt_gguf and one fmt_<type>: below).
//   q4 : superblocks of 36 words (8 groups of 32 values): words 0..3 the groups' f16 scales (group j in half
//        j % 2 of word j / 2), then 4 words a group; block b of a row = word 36 (b / 32) + 4 + b % 32, value v
//        at bits 4v, q = nibble - 8 (1 word a block; a row's last superblock may hold fewer groups)
//   q8 : block b = words 2b, 2b+1, value v of a word at bits 8v, signed byte    (2 words)
//   f16: block b = words 4b..4b+3, unpack2x16float (even index low)             (4 words)
//   f32: block b = words 8b..8b+7, bitcast                                       (8 words)
// f16/f32 rows are not padded to whole blocks: their words past wordsPerRow read as 0.
// The value is block_scale(...) * q, computed in f32; no shader-f16 needed.

struct Block { lo: vec4<f32>, hi: vec4<f32> }

// the 8 values of one q4 word (value v at bits 4v, q = nibble - 8)
fn q4_block(word: u32) -> Block {
  let w = vec4<u32>(word);
  let lo = vec4<f32>((w >> vec4<u32>(0u, 4u, 8u, 12u)) & vec4<u32>(15u)) - vec4<f32>(8.0);
  let hi = vec4<f32>((w >> vec4<u32>(16u, 20u, 24u, 28u)) & vec4<u32>(15u)) - vec4<f32>(8.0);
  return Block(lo, hi);
}

// q4: the f16 scale of group g from the word holding it (word g % 8 / 2 of its superblock), as f32
fn q4_scale(word: u32, g: u32) -> f32 {
  return unpack2x16float(word >> (16u * (g & 1u))).x;
}

// With `wvec` (q4 in the decode matvec) the shader binds wq as array<vec4<u32>> and decodes words itself.
//#if !wvec
//#if fmt_boxed
// base: first word of the weight row (n * wordsPerRow); b: block index in the row; wpr: wordsPerRow
fn load_block(base: u32, b: u32, wpr: u32) -> Block {
//#if fmt_q4
  return q4_block(wq[base + 36u * (b >> 5u) + 4u + (b & 31u)]);
//#endif
//#if fmt_q8
  return Block(signed_bytes(wq[base + 2u * b]), signed_bytes(wq[base + 2u * b + 1u]));
//#endif
//#if fmt_f16
  let i = 4u * b;
  var w = vec4<u32>(0u);
  for (var j = 0u; j < 4u; j++) {
    if (i + j < wpr) { w[j] = wq[base + i + j]; }
  }
  return Block(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)));
//#endif
//#if fmt_f32
  let i = 8u * b;
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (i + j < wpr) { lo[j] = bitcast<f32>(wq[base + i + j]); }
    if (i + 4u + j < wpr) { hi[j] = bitcast<f32>(wq[base + i + 4u + j]); }
  }
  return Block(lo, hi);
//#endif
}
//#endif
//#endif

//#if fmt_q8
// four signed bytes of a word, value v at bits 8v
fn signed_bytes(w: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
//#endif

// scale of group gi (blocks 4gi .. 4gi + 3) of the row whose first word is `base`; srow: the row's first entry of
// scales (row * groupsPerRow, q8). 1 for formats without group scales. (wvec reads q4 scales itself.)
//#if !wvec
fn group_scale(base: u32, srow: u32, gi: u32) -> f32 {
//#if fmt_q4
  return q4_scale(wq[base + 36u * (gi >> 3u) + ((gi & 7u) >> 1u)], gi);
//#endif
//#if fmt_q8
  return scales[srow + gi];
//#endif
//#if !scaled
  return 1.0;
//#endif
}
//#endif

// ---- GGUF block formats (src/loader/gguf/blocks.ts describes each layout and is the CPU twin) ----------------
// fmt_bf16: two BF16 values a word (even index low), the f16 layout; value = the top half of an f32.
// fmt_gguf (with one of fmt_q8_0, fmt_q4_0, fmt_q4_1, fmt_q5_0, fmt_q5_1, fmt_q4_k, fmt_q5_k, fmt_q6_k): a row
// is the tensor row's llama.cpp blocks byte for byte, padded at its end to whole words (wordsPerRow =
// ceil(rowBytes / 4)); blocks are not 4-byte aligned (34, 18, 22 and 210 bytes), but every field starts at an
// even byte, so a u32 at an even offset is one word or the halves of two.
//#if fmt_bf16
fn load_block(base: u32, b: u32, wpr: u32) -> Block {
  let i = 4u * b;
  var w = vec4<u32>(0u);
  for (var j = 0u; j < 4u; j++) {
    if (i + j < wpr) { w[j] = wq[base + i + j]; }
  }
  let lo = bitcast<vec4<f32>>(vec4<u32>(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
  let hi = bitcast<vec4<f32>>(vec4<u32>(w.z << 16u, w.z & 0xffff0000u, w.w << 16u, w.w & 0xffff0000u));
  return Block(lo, hi);
}
//#endif

//#if fmt_gguf
// the u32 at even byte offset o of the chunk
fn gg_u32(o: u32) -> u32 {
  let w = o >> 2u;
  if ((o & 3u) == 0u) { return wq[w]; }
  return (wq[w] >> 16u) | (wq[w + 1u] << 16u);
}
// the byte at offset o
fn gg_u8(o: u32) -> u32 {
  return (wq[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu;
}
// the f16 at even byte offset o, as f32
fn gg_f16(o: u32) -> f32 {
  return unpack2x16float((wq[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu).x;
}
// the int8 at offset o
fn gg_i8(o: u32) -> f32 {
  return f32((bitcast<i32>(gg_u8(o) << 24u)) >> 24u);
}
// the four bytes of w, each shifted right by s and masked by m
fn gg_bits(w: u32, s: u32, m: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> (vec4<u32>(0u, 8u, 16u, 24u) + vec4<u32>(s))) & vec4<u32>(m);
}
// the four bytes of w as signed values (value c at bits 8c)
fn gg_sbytes(w: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
// K-quants are decoded a UNIT at a time (32 values = blocks 4u .. 4u + 3 of a row: one Q4_K/Q5_K sub-block, two
// Q6_K 16-value sub-blocks): the first block of a unit unpacks its scale and min (or Q6_K's two scales) into
// ku_s, and the unit's other blocks reuse them. ku_at: (row byte offset, unit) that ku_s belongs to, so any call
// order stays exact (the matvec's lanes and the embed walk a unit's 4 blocks in a row, and unpack once a unit).
var<private> ku_at: vec2<u32> = vec2<u32>(0xffffffffu, 0xffffffffu);
var<private> ku_s: vec2<f32> = vec2<f32>(0.0, 0.0);

// scale (x) and min (y) of sub-block j (0..7) of a K-quant's 12 scale bytes at offset o (blocks.ts scaleMinK4)
fn gg_scale_min_k4(j: u32, o: u32) -> vec2<f32> {
  if (j < 4u) { return vec2<f32>(f32(gg_u8(o + j) & 63u), f32(gg_u8(o + j + 4u) & 63u)); }
  let a = gg_u8(o + j + 4u);
  return vec2<f32>(f32((a & 15u) | ((gg_u8(o + j - 4u) >> 6u) << 4u)), f32((a >> 4u) | ((gg_u8(o + j) >> 6u) << 4u)));
}

// Q4_K / Q5_K: (d * sc, dmin * mn) of sub-block sb of the super-block at byte o into ku_s, once for unit u of
// the row at byte `row`. d and dmin are the halves of the block's first word (144- and 176-byte blocks keep
// every field on whole words).
fn gg_unit_k4(row: u32, u: u32, o: u32, sb: u32) {
  if (any(ku_at != vec2<u32>(row, u))) {
    ku_s = unpack2x16float(wq[o >> 2u]) * gg_scale_min_k4(sb, o + 4u);
    ku_at = vec2<u32>(row, u);
  }
}

// values 8b .. 8b + 7 of the row whose first word is `base`
fn load_block(base: u32, b: u32, wpr: u32) -> Block {
  let row = 4u * base;
//#if fmt_q8_0
  // 34 B: d f16, q[32] int8
  let o = row + (b / 4u) * 34u;
  let d = gg_f16(o);
  let q = o + 2u + 8u * (b % 4u);
  return Block(gg_sbytes(gg_u32(q)) * d, gg_sbytes(gg_u32(q + 4u)) * d);
//#endif
//#if fmt_q4_0
  // 18 B: d f16, qs[16]; values 0..15 low nibbles, 16..31 high nibbles; x = d * (q - 8)
  let o = row + (b / 4u) * 18u;
  let j = b % 4u;
  let d = gg_f16(o);
  let q = o + 2u + 8u * (j % 2u);
  let s = 4u * (j / 2u);
  return Block((vec4<f32>(gg_bits(gg_u32(q), s, 15u)) - 8.0) * d, (vec4<f32>(gg_bits(gg_u32(q + 4u), s, 15u)) - 8.0) * d);
//#endif
//#if fmt_q4_1
  // 20 B: d f16, m f16, qs[16]; x = d * q + m
  let o = row + (b / 4u) * 20u;
  let j = b % 4u;
  let d = gg_f16(o);
  let m = gg_f16(o + 2u);
  let q = o + 4u + 8u * (j % 2u);
  let s = 4u * (j / 2u);
  return Block(vec4<f32>(gg_bits(gg_u32(q), s, 15u)) * d + m, vec4<f32>(gg_bits(gg_u32(q + 4u), s, 15u)) * d + m);
//#endif
//#if fmt_q5_0
  // 22 B: d f16, qh u32, qs[16]; bit 4 of value v is bit v of qh; x = d * (q - 16)
  let o = row + (b / 4u) * 22u;
  let j = b % 4u;
  let d = gg_f16(o);
  let qh = gg_u32(o + 2u);
  let q = o + 6u + 8u * (j % 2u);
  let s = 4u * (j / 2u);
  let hlo = ((vec4<u32>(qh) >> (vec4<u32>(0u, 1u, 2u, 3u) + vec4<u32>(8u * j))) & vec4<u32>(1u)) << vec4<u32>(4u);
  let hhi = ((vec4<u32>(qh) >> (vec4<u32>(4u, 5u, 6u, 7u) + vec4<u32>(8u * j))) & vec4<u32>(1u)) << vec4<u32>(4u);
  return Block((vec4<f32>(gg_bits(gg_u32(q), s, 15u) | hlo) - 16.0) * d, (vec4<f32>(gg_bits(gg_u32(q + 4u), s, 15u) | hhi) - 16.0) * d);
//#endif
//#if fmt_q5_1
  // 24 B: d f16, m f16, qh u32, qs[16]; x = d * q + m
  let o = row + (b / 4u) * 24u;
  let j = b % 4u;
  let d = gg_f16(o);
  let m = gg_f16(o + 2u);
  let qh = gg_u32(o + 4u);
  let q = o + 8u + 8u * (j % 2u);
  let s = 4u * (j / 2u);
  let hlo = ((vec4<u32>(qh) >> (vec4<u32>(0u, 1u, 2u, 3u) + vec4<u32>(8u * j))) & vec4<u32>(1u)) << vec4<u32>(4u);
  let hhi = ((vec4<u32>(qh) >> (vec4<u32>(4u, 5u, 6u, 7u) + vec4<u32>(8u * j))) & vec4<u32>(1u)) << vec4<u32>(4u);
  return Block(vec4<f32>(gg_bits(gg_u32(q), s, 15u) | hlo) * d + m, vec4<f32>(gg_bits(gg_u32(q + 4u), s, 15u) | hhi) * d + m);
//#endif
//#if fmt_q4_k
  // 144 B: d, dmin f16, scales[12], qs[128]; sub-block s (32 values) of 8; sub-blocks 2i, 2i + 1 are the low and
  // high nibbles of qs[32i .. 32i + 32); x = d * sc * q - dmin * mn. Blocks are 144 B, so every field is whole
  // words: read straight from wq.
  let u = b / 4u;
  let o = row + (u / 8u) * 144u;
  let sb = u % 8u;
  gg_unit_k4(row, u, o, sb);
  let q = (o + 16u + 32u * (sb / 2u) + 8u * (b % 4u)) >> 2u;
  let s = 4u * (sb % 2u);
  return Block(vec4<f32>(gg_bits(wq[q], s, 15u)) * ku_s.x - ku_s.y, vec4<f32>(gg_bits(wq[q + 1u], s, 15u)) * ku_s.x - ku_s.y);
//#endif
//#if fmt_q5_k
  // 176 B: d, dmin f16, scales[12], qh[32], qs[128]: Q4_K plus bit sb of qh[l] as bit 4 of value l of sub-block sb
  // (whole words, as Q4_K)
  let u = b / 4u;
  let o = row + (u / 8u) * 176u;
  let sb = u % 8u;
  gg_unit_k4(row, u, o, sb);
  let l = 8u * (b % 4u);
  let q = (o + 48u + 32u * (sb / 2u) + l) >> 2u;
  let s = 4u * (sb % 2u);
  let qh = (o + 16u + l) >> 2u;
  let hlo = gg_bits(wq[qh], sb, 1u) << vec4<u32>(4u);
  let hhi = gg_bits(wq[qh + 1u], sb, 1u) << vec4<u32>(4u);
  return Block(vec4<f32>(gg_bits(wq[q], s, 15u) | hlo) * ku_s.x - ku_s.y, vec4<f32>(gg_bits(wq[q + 1u], s, 15u) | hhi) * ku_s.x - ku_s.y);
//#endif
//#if fmt_q6_k
  // 210 B: ql[128], qh[64], scales[16] int8, d f16. Value v: half h = v / 128, quarter t = (v % 128) / 32,
  // l = v % 32; low bits: nibble t / 2 of ql[64h + 32 (t % 2) + l], high bits: bits 2t of qh[32h + l],
  // scale sc[8h + l / 16 + 2t]; x = d * sc * (q - 32). A unit (fixed h, t) has two scales, adjacent bytes:
  // blocks 0, 1 take the first, 2, 3 the second. Blocks are 210 B: fields of odd blocks are not word-aligned.
  let u = b / 4u;
  let o = row + (u / 8u) * 210u;
  let h = (u % 8u) / 4u;
  let t = u % 4u;
  if (any(ku_at != vec2<u32>(row, u))) {
    let sc = gg_u32(o + 192u + 8u * h + 2u * t);
    ku_s = gg_f16(o + 208u) * vec2<f32>(bitcast<vec2<i32>>(vec2<u32>(sc << 24u, sc << 16u)) >> vec2<u32>(24u));
    ku_at = vec2<u32>(row, u);
  }
  let j = b % 4u;
  let l = 8u * j;
  let ql = o + 64u * h + 32u * (t % 2u) + l;
  let qh = o + 128u + 32u * h + l;
  let s = 4u * (t / 2u);
  let ds = select(ku_s.x, ku_s.y, j >= 2u);
  let lo = gg_bits(gg_u32(ql), s, 15u) | (gg_bits(gg_u32(qh), 2u * t, 3u) << vec4<u32>(4u));
  let hi = gg_bits(gg_u32(ql + 4u), s, 15u) | (gg_bits(gg_u32(qh + 4u), 2u * t, 3u) << vec4<u32>(4u));
  return Block((vec4<f32>(lo) - 32.0) * ds, (vec4<f32>(hi) - 32.0) * ds);
//#endif
}
//#endif
