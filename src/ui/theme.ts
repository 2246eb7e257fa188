// Applies the theme choice to the document: 'system' follows prefers-color-scheme (pure CSS), 'light'
// and 'dark' force it through data-theme on <html>.
import type { ThemeChoice } from '../state/settings';

export function applyTheme(choice: ThemeChoice, root: HTMLElement = document.documentElement): void {
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

/** The theme actually in effect, for the toggle's label. */
export function effectiveTheme(choice: ThemeChoice): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
