// RoPE + KV append as a matmul epilogue (appended to matmul-decode.wgsl and matmul-prefill.wgsl when the
// `rope` define is on: the qkv projection then writes no q/k/v buffer, and shaders/rope-kv.wgsl is not run).
// The qkv weight's rows (and bias) are permuted at load (ropeQuadRows in src/model/fused.ts) so that each
// aligned run of 4 output rows, a "quad", holds everything one thread needs for two whole words of output:
//   q and k heads (headDim % 4 == 0, half = headDim / 2): quad j of a head holds the head-local rows
//     (2j, 2j + half, 2j + 1, 2j + 1 + half) = (a0, b0, a1, b1): two rotation pairs whose results land in the
//     adjacent elements (2j, 2j + 1) and (2j + half, 2j + half + 1), i.e. one u32 word each of an f16 cache;
//   v rows keep their order (a quad is elements 4j .. 4j + 3).
// With (cos, sin) = table[pos, i] (rotate-half / neox, as rope-kv.wgsl), for i = 2j and i = 2j + 1:
//   out[i] = x[i] * cos - x[i + half] * sin,   out[i + half] = x[i + half] * cos + x[i] * sin
// Rotated q goes to y ([rows, qDim], the host shader's binding 5); rotated k and plain v go into the layer's
// K/V cache at the row's (slot, pos); f16 caches store values clamped to ±65504 (as rope-kv.wgsl and the CPU
// twin, src/cpu/rope.ts). A row whose pos >= context or slot >= slots writes nothing.
// Bindings (group 0, besides the host shader's 0..5):
//   6 storage  ropeMeta:  array<vec2<u32>> [maxRows]                (pos, slot) per row   read
//   7 storage  ropeTable: array<vec2<f32>> [context, half]          (cos, sin)            read
//   8 storage  kc:        array<u32>       [slots, context, kvDim]  K cache (f16: 2 per u32, f32: bitcast)
//   9 storage  vc:        array<u32>       [slots, context, kvDim]  V cache, same format
//  10 uniform  rp: RopeParams
// Defines: kv_f16 (cache format).

struct RopeParams { headDim: u32, qDim: u32, kvDim: u32, context: u32, slots: u32, _r0: u32, _r1: u32, _r2: u32 }

@group(0) @binding(6) var<storage, read> ropeMeta: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read> ropeTable: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read_write> kc: array<u32>;
@group(0) @binding(9) var<storage, read_write> vc: array<u32>;
@group(0) @binding(10) var<uniform> rp: RopeParams;

// elements 2 * word and 2 * word + 1 of a cache
fn rope_store(isK: bool, word: u32, a: f32, b: f32) {
//#if kv_f16
  // pack2x16float is undefined past the f16 range: clamp to ±65504 (the largest finite f16)
  let w = pack2x16float(clamp(vec2<f32>(a, b), vec2<f32>(-65504.0), vec2<f32>(65504.0)));
  if (isK) { kc[word] = w; } else { vc[word] = w; }
//#else
  if (isK) {
    kc[2u * word] = bitcast<u32>(a);
    kc[2u * word + 1u] = bitcast<u32>(b);
  } else {
    vc[2u * word] = bitcast<u32>(a);
    vc[2u * word + 1u] = bitcast<u32>(b);
  }
//#endif
}

// The quad of output rows starting at qkv row gq (a multiple of 4) for x row r, bias already added.
fn rope_quad(r: u32, gq: u32, v: vec4<f32>) {
  let m = ropeMeta[r];
  let pos = m.x;
  let slot = m.y;
  if (pos >= rp.context || slot >= rp.slots) { return; }
  let cacheBase = (slot * rp.context + pos) * rp.kvDim;  // first element of the row's cache entry (even)
  if (gq >= rp.qDim + rp.kvDim) {
    let c = cacheBase + gq - rp.qDim - rp.kvDim;
    rope_store(false, c / 2u, v.x, v.y);
    rope_store(false, c / 2u + 1u, v.z, v.w);
    return;
  }
  let isK = gq >= rp.qDim;
  let e = select(gq, gq - rp.qDim, isK);
  let hd = rp.headDim;
  let half = hd / 2u;
  let i = (e % hd) / 2u;  // the quad's first rotation index (even, < half)
  let c0 = ropeTable[pos * half + i];
  let c1 = ropeTable[pos * half + i + 1u];
  let a0 = v.x * c0.x - v.y * c0.y;
  let b0 = v.y * c0.x + v.x * c0.y;
  let a1 = v.z * c1.x - v.w * c1.y;
  let b1 = v.w * c1.x + v.z * c1.y;
  let at = (e / hd) * hd + i;  // element of a0 in q or k; a1 at + 1, b0 at + half, b1 at + half + 1
  if (isK) {
    rope_store(true, (cacheBase + at) / 2u, a0, a1);
    rope_store(true, (cacheBase + at + half) / 2u, b0, b1);
  } else {
    let o = r * rp.qDim + at;
    y[o] = a0;
    y[o + 1u] = a1;
    y[o + half] = b0;
    y[o + half + 1u] = b1;
  }
}
