// RMSNorm over the rows of a [rows, dim] f32 matrix.
//   y[r, i] = x[r, i] / sqrt(mean_i(x[r, i]^2) + eps) * g[i]
// Bindings (group 0):
//   0 uniform  params { dim: u32, eps: f32 }
//   1 storage  x: array<f32>  [rows, dim]   read
//   2 storage  g: array<f32>  [dim]         read
//   3 storage  y: array<f32>  [rows, dim]   write (may not alias x)
// Dispatch: (rows, 1, 1); one workgroup per row, WG threads stride over dim and reduce the sum of
// squares in workgroup memory (with subgroupAdd first when subgroups exist).
// Overrides: WG (threads per workgroup, a power of two <= maxComputeInvocationsPerWorkgroup).
//#if subgroups
enable subgroups;
//#endif

struct Params { dim: u32, eps: f32 }

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  let base = row * params.dim;
  var ss = 0.0;
  for (var i = lid; i < params.dim; i += WG) {
    let v = x[base + i];
    ss += v * v;
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(params.dim) + params.eps);
  for (var i = lid; i < params.dim; i += WG) {
    y[base + i] = x[base + i] * inv * g[i];
  }
}
