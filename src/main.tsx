// The browser entry: the store (with settings kept in localStorage), the controller over the engine
// worker, the history from IndexedDB, and the React tree.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'katex/dist/katex.min.css';
import './ui/styles.css';
import { createController } from './client/controller';
import { connectEngine } from './client/engine-client';
import { openHistoryDb } from './state/history-db';
import { persistSettings } from './state/settings-storage';
import { readHubToken } from './state/hub-token';
import { readServerKey } from './state/server-key';
import { prefillFromUrl } from './state/url-prefill';
import { registerServiceWorker } from './client/pwa';
import { askPersistentStorage } from './client/storage';
import { boxed } from './state/store';
import { App } from './ui/App';
import { preloadMarkdown } from './ui/Markdown';
import { ControllerContext } from './ui/controller-context';

persistSettings(boxed, localStorage);
boxed.getState().updateSettings(prefillFromUrl(location.search));
const controller = createController({
  connect: connectEngine,
  store: boxed,
  openHistory: openHistoryDb,
  hubToken: (endpoint) => readHubToken(localStorage, endpoint),
  serverKey: (endpoint) => readServerKey(localStorage, endpoint),
  askPersist: () => askPersistentStorage(boxed),
});
registerServiceWorker(boxed);
void controller.probe();
void controller.initHistory();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
// The Markdown renderer (most of the app's JavaScript) is a chunk of its own: fetched once the first page is up.
const idle = window.requestIdleCallback ?? ((f: () => void) => setTimeout(f, 200));
idle(() => preloadMarkdown());
createRoot(root).render(
  <StrictMode>
    <ControllerContext value={controller}>
      <App />
    </ControllerContext>
  </StrictMode>,
);
