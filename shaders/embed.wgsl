// Embedding gather: x[r, :] = dequantized row tokens[r] of the embedding [vocab, dim], for the rows
// whose token lies in this weight chunk [rowStart, rowStart + nChunk); other rows are left untouched
// (a token >= vocab lies in no chunk: its x row is not written).
// Bindings (group 0):
//   0 uniform  p: Params (per chunk)
//   1 storage  tokens: array<u32> [rows]                  read
//   2 storage  wq:     array<u32> [nChunk, wordsPerRow]   read
//   3 storage  scales: array<f32> [nChunk, groupsPerRow]  read (q8 only)
//   4 storage  x:      array<f32> [rows, dim]             write
// Dispatch: (rows) workgroups, one per row; WG threads stride over the row's blocks of 8 values
// (weight-formats.wgsl), one u32 load per 8 values for q4 (and its group's scale word).
// Overrides: WG.

struct Params {
  dim: u32,
  wordsPerRow: u32,
  groupsPerRow: u32,
  nChunk: u32,
  rowStart: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
//#if scale_buf
@group(0) @binding(3) var<storage, read> scales: array<f32>;
//#endif
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let t = tokens[r];
  if (t < p.rowStart || t - p.rowStart >= p.nChunk) { return; }
  let n = t - p.rowStart;
  let nBlocks = (p.dim + 7u) / 8u;
  for (var b = lid; b < nBlocks; b += WG) {
    let blk = load_block(n * p.wordsPerRow, b, p.wordsPerRow);
    let s = group_scale(n * p.wordsPerRow, n * p.groupsPerRow, b / 4u);
    let lo = blk.lo * s;
    let hi = blk.hi * s;
    let o = r * p.dim + 8u * b;
    for (var c = 0u; c < 4u; c++) {
      if (8u * b + c < p.dim) { x[o + c] = lo[c]; }
      if (8u * b + 4u + c < p.dim) { x[o + 4u + c] = hi[c]; }
    }
  }
}
