// The app's frame: header (name, model, theme toggle), then the screen for the current phase:
// Start (no model), Loading, or the workspace (solve, answer, controls, history); a share link's
// fragment (#s=…) shows that shared solution instead.
import { useEffect } from 'react';
import { useBoxed } from '../state/store';
import type { ThemeChoice } from '../state/settings';
import { Controls } from './Controls';
import { useController } from './controller-context';
import { ErrorPanel } from './ErrorPanel';
import { HeavyPanel } from './HeavyPanel';
import { HistoryPanel } from './HistoryPanel';
import { LoadingScreen } from './LoadingScreen';
import { OutputPanel } from './OutputPanel';
import { SettingsPanel } from './SettingsPanel';
import { SharedScreen } from './SharedSolution';
import { useSharedLink } from './share-route';
import { SolvePanel } from './SolvePanel';
import { StartScreen } from './StartScreen';
import { StoragePanel } from './StoragePanel';
import { AppUpdateNotice, ModelUpdateNotice } from './UpdateNotices';
import { applyTheme, effectiveTheme } from './theme';
import { ggufDetail, weightsLabel, weightsPhrase } from './model-format';

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { system: 'dark', dark: 'light', light: 'system' };

function ThemeToggle() {
  const theme = useBoxed((s) => s.settings.theme);
  const update = useBoxed((s) => s.updateSettings);
  useEffect(() => applyTheme(theme), [theme]);
  const label = theme === 'system' ? `Theme: system (${effectiveTheme(theme)})` : `Theme: ${theme}`;
  return (
    <button type="button" className="icon theme-toggle" onClick={() => update({ theme: NEXT_THEME[theme] })} aria-label={`${label}. Switch theme`} title={label}>
      <span aria-hidden="true">{theme === 'system' ? '◐' : theme === 'dark' ? '☾' : '☀'}</span>
    </button>
  );
}

function Header() {
  const model = useBoxed((s) => s.model);
  return (
    <header className="app-header">
      <div className="brand">
        <span className="logo" aria-hidden="true">
          ▣
        </span>
        <span className="brand-name">Boxed</span>
      </div>
      <div className="header-right">
        {model && (
          <span
            className="model-chip"
            data-testid="model-chip"
            title={`${model.server ? model.name : `${model.name}, ${weightsPhrase(model)}${model.gguf ? ` — ${ggufDetail(model.gguf)}` : ''}`}, ${model.context} tokens of context`}
          >
            {model.server ? `${model.server.model.split('/').pop()} · server ${model.server.host}` : `${model.name.split('/').pop()} · ${weightsLabel(model)}`}
          </span>
        )}
        <ThemeToggle />
      </div>
    </header>
  );
}

function Workspace() {
  const heavy = useBoxed((s) => s.heavy !== null);
  return (
    <div className="workspace">
      <div className="main-col">
        <ModelUpdateNotice />
        <SolvePanel />
        <ErrorPanel />
        {heavy ? <HeavyPanel /> : <OutputPanel />}
        <Controls />
      </div>
      <aside className="side-col">
        <SettingsPanel />
        <HistoryPanel />
        <StoragePanel />
      </aside>
    </div>
  );
}

export function App() {
  const phase = useBoxed((s) => s.phase);
  const hasModel = useBoxed((s) => s.model !== null);
  const hasRun = useBoxed((s) => s.run !== null);
  const controller = useController();
  const shared = useSharedLink();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') void controller.stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [controller]);

  const showWorkspace = hasModel || phase.kind === 'generating' || (phase.kind === 'error' && phase.during === 'generate');
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" data-phase={phase.kind}>
        <AppUpdateNotice />
        {shared ? (
          <SharedScreen link={shared} />
        ) : phase.kind === 'loading' ? (
          <LoadingScreen />
        ) : showWorkspace ? (
          <Workspace />
        ) : (
          <>
            {phase.kind === 'error' && <ErrorPanel />}
            <StartScreen />
            {hasRun && <OutputPanel />}
            <HeavyPanel />
            <HistoryPanel />
          </>
        )}
      </main>
    </div>
  );
}
