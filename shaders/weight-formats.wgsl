// Weight formats (src/loader/quant.ts), decoded one BLOCK of 8 consecutive values of a row at a time.
// Appended to the matmul and embed shaders; they declare the bindings this snippet reads:
//   wq:     array<u32>  [rows, wordsPerRow]   packed weight words of the current chunk
//   scales: array<f32>  [rows, groupsPerRow]  per-32-value group scales (fmt_q4 / fmt_q8 only)
// Exactly one of the defines fmt_q4, fmt_q8, fmt_f16, fmt_f32 is true (plus `scaled` = q4 or q8).
//   q4 : block b of a row = word b, value v at bits 4v, q = nibble - 8          (1 word a block)
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

// With `wvec` (q4 in the decode matvec) the shader binds wq as array<vec4<u32>> and decodes words itself.
//#if !wvec
// base: first word of the weight row (n * wordsPerRow); b: block index in the row; wpr: wordsPerRow
fn load_block(base: u32, b: u32, wpr: u32) -> Block {
//#if fmt_q4
  return q4_block(wq[base + b]);
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

//#if fmt_q8
// four signed bytes of a word, value v at bits 8v
fn signed_bytes(w: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
//#endif

// g: index of the block's group in the scales array (row * groupsPerRow + b / 4)
fn block_scale(g: u32) -> f32 {
//#if scaled
  return scales[g];
//#else
  return 1.0;
//#endif
}
