/** Short-lived notifications in the bottom-right corner. */
import { h } from './dom';

let host: HTMLElement | null = null;

export function toast(message: string, kind: 'error' | 'info' | 'success' = 'error', ms = 5000): void {
  if (!host) {
    host = h('div', { class: 'toasts', testid: 'toasts' });
    document.body.append(host);
  }
  const el = h('div', { class: `toast toast-${kind}`, testid: 'toast', role: 'status' }, message);
  el.addEventListener('click', () => el.remove());
  host.append(el);
  window.setTimeout(() => el.remove(), ms);
}
