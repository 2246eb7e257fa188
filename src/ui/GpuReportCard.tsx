// The adapter the browser offers: name, features the engine uses, the limits that matter.
import type { GpuReport } from '../protocol/engine';
import { formatBytes } from './units';

const yes = (b: boolean) => (b ? 'yes' : 'no');

/** `needFor`: what the memory figure is for (the chosen model or file, or the size it assumes). */
export function GpuReportCard({ report, needBytes, needFor }: { report: GpuReport; needBytes?: number; needFor?: string }) {
  const a = report.adapter;
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' · ') || a.description || 'unnamed adapter';
  return (
    <section className="card gpu" aria-labelledby="gpu-title">
      <h2 id="gpu-title">Your GPU</h2>
      <p className="gpu-name">
        {name}
        {a.isFallback && <span className="badge warn" title="A software renderer: everything works, slowly.">software fallback</span>}
      </p>
      {a.description && a.description !== name && <p className="muted">{a.description}</p>}
      <dl className="facts">
        <dt>16-bit shader math</dt>
        <dd>{yes(report.features.shaderF16)}</dd>
        <dt>Subgroups</dt>
        <dd>{yes(report.features.subgroups)}</dd>
        <dt>Timestamp queries</dt>
        <dd>{yes(report.features.timestampQuery)}</dd>
        <dt>Largest buffer</dt>
        <dd>{formatBytes(report.limits.maxBufferSize)}</dd>
        <dt>Largest storage binding</dt>
        <dd>{formatBytes(report.limits.maxStorageBufferBindingSize)}</dd>
        <dt>Invocations per workgroup</dt>
        <dd>{report.limits.maxComputeInvocationsPerWorkgroup}</dd>
        <dt>Storage buffers per stage</dt>
        <dd>{report.limits.maxStorageBuffersPerShaderStage}</dd>
        <dt>Workgroup memory</dt>
        <dd>{formatBytes(report.limits.maxComputeWorkgroupStorageSize)}</dd>
        {needBytes !== undefined && (
          <>
            <dt>Memory these settings need</dt>
            <dd title="Browsers do not say how much memory a GPU has." data-testid="gpu-need">
              about {formatBytes(needBytes)}
              {needFor ? ` (${needFor})` : ''}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
