/** Run status badge: running/completed/stopped…, pulsing while another process writes the run. */
import { h } from '../dom';
import type { RunSummary } from '../types';

export function statusBadge(run: Pick<RunSummary, 'status' | 'live'>, testid = 'run-status'): HTMLElement {
  const el = h('span', { class: 'status', testid });
  updateStatusBadge(el, run);
  return el;
}

export function updateStatusBadge(el: HTMLElement, run: Pick<RunSummary, 'status' | 'live'>): void {
  el.className = `status status-${run.status}${run.live ? ' live' : ''}`;
  el.dataset.status = run.status;
  el.dataset.live = String(run.live);
  el.textContent = run.live ? `${run.status} · live` : run.status;
  el.title = run.live ? 'Another process is writing this run right now' : `Run ${run.status}`;
}
