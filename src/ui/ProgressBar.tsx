// One labelled progress bar (role=progressbar with aria values); `fraction` undefined means indeterminate.

export function ProgressBar({ label, fraction, detail, state }: { label: string; fraction?: number; detail?: string; state?: 'waiting' | 'active' | 'done' }) {
  const pct = fraction === undefined ? undefined : Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10;
  return (
    <div className={`progress progress-${state ?? 'active'}`}>
      <div className="progress-head">
        <span className="progress-label">{label}</span>
        <span className="progress-detail">{detail ?? (pct === undefined ? '' : `${pct}%`)}</span>
      </div>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={detail}
      >
        <div className={`progress-fill${pct === undefined ? ' indeterminate' : ''}`} style={{ width: pct === undefined ? undefined : `${pct}%` }} />
      </div>
    </div>
  );
}
