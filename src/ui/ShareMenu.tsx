// "Share" on a finished answer: makes a link whose fragment holds the whole solution (nothing is
// uploaded), then offers Copy link, Copy as Markdown and the system share sheet where the browser has one.
import { useState } from 'react';
import { encodeShare, type EncodedShare } from '../share/codec';
import { shareMarkdown } from '../share/markdown';
import { formatFor } from '../share/record';
import { BoxedError } from '../protocol/errors';
import { boxed } from '../state/store';
import type { Run } from '../state/run';
import type { HeavyRun } from '../state/heavy';
import { CopyButton } from './CopyButton';
import { recordFromHeavy, recordFromRun } from './share-record';

type MenuState =
  | { kind: 'closed' }
  | { kind: 'making' }
  | { kind: 'ready'; link: EncodedShare; markdown: string }
  /** Too long for a link: the Markdown still carries it all. */
  | { kind: 'error'; message: string; markdown?: string };

/** The app's address without its fragment: where a shared link opens. */
const appBase = () => window.location.href.split('#')[0];

/** A single answer (`run`) or a finished heavy run (`heavy`: the chosen solution with every candidate's answer). */
export function ShareMenu(props: { run: Run } | { heavy: HeavyRun }) {
  const [state, setState] = useState<MenuState>({ kind: 'closed' });
  const open = state.kind !== 'closed';
  const make = async () => {
    const s = boxed.getState();
    const id = 'run' in props ? props.run.id : props.heavy.id;
    const source = { settings: s.settings, model: s.model, entryModel: s.history.find((e) => e.id === id)?.model };
    const input = 'run' in props ? recordFromRun({ run: props.run, ...source }) : recordFromHeavy({ heavy: props.heavy, ...source });
    if (!input) return setState({ kind: 'error', message: 'This answer is not finished: there is nothing to share yet.' });
    setState({ kind: 'making' });
    try {
      const link = await encodeShare(input, { base: appBase() });
      // the Markdown carries the whole reasoning, not the link's cut one
      const markdown = shareMarkdown({ ...input, v: formatFor(input) }, link.url);
      setState({ kind: 'ready', link, markdown });
    } catch (e) {
      const tooLong = e instanceof BoxedError && e.detail?.share === 'too-long';
      setState({ kind: 'error', message: (e as Error).message, markdown: tooLong ? shareMarkdown({ ...input, v: formatFor(input) }) : undefined });
    }
  };
  const toggle = () => (open ? setState({ kind: 'closed' }) : void make());
  const canShare = typeof navigator.share === 'function';
  return (
    <div className="share-menu">
      <button type="button" className="secondary small" aria-expanded={open} onClick={toggle}>
        Share
      </button>
      {open && (
        <div className="share-panel" role="group" aria-label="Share this solution" data-testid="share-panel">
          {state.kind === 'making' && <p className="muted small">Making the link…</p>}
          {state.kind === 'error' && (
            <>
              <p className="error-text small" role="alert">
                Cannot make a link: {state.message}
              </p>
              {state.markdown !== undefined && <CopyButton text={state.markdown} label="Copy as Markdown" />}
            </>
          )}
          {state.kind === 'ready' && (
            <>
              <input className="share-link" readOnly value={state.link.url} aria-label="Share link" onFocus={(e) => e.target.select()} />
              <div className="actions">
                <CopyButton text={state.link.url} label="Copy link" />
                <CopyButton text={state.markdown} label="Copy as Markdown" />
                {canShare && (
                  <button
                    type="button"
                    className="secondary small"
                    onClick={() => void navigator.share({ title: 'A solved problem (Boxed)', text: ('run' in props ? props.run : props.heavy).problem.slice(0, 200), url: state.link.url }).catch(() => undefined)}
                  >
                    Share…
                  </button>
                )}
              </div>
              <p className="muted small">
                The link itself holds the problem and the answer; opening it sends nothing to any server.
                {state.link.record.reasoningCut ? ` The reasoning was cut by ${state.link.record.reasoningCut.toLocaleString()} characters to fit the link (marked where).` : ''}
                {state.link.record.model ? '' : ' The model was loaded from local files, so the link does not name where to get it.'}
              </p>
            </>
          )}
        </div>
      )}
    </div>
  );
}
