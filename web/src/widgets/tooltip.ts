/** The single floating tooltip of the grid screen; flips left/up near the window edges. */
import { clear, fmt, h } from '../dom';
import { fitnessText, trialPelletsText } from '../scores';
import type { CreatureCard } from '../types';

export const DQ_TEXT: Record<string, string> = {
  frequency_exceeded: 'Muscle frequency exceeded max allowed',
  physics_explosion: 'Physics simulation exploded',
  nan_position: 'Position became invalid',
};

let el: HTMLElement | null = null;

function ensure(): HTMLElement {
  if (!el) {
    el = h('div', { class: 'tooltip hidden', testid: 'tooltip', role: 'tooltip' });
    document.body.append(el);
  }
  return el;
}

function row(label: string, value: string): HTMLElement {
  return h('div', { class: 'kv' }, h('span', null, label), h('span', null, value));
}

export function cardTooltip(c: CreatureCard, extra: HTMLElement[] = []): HTMLElement[] {
  return [
    h('div', { class: 'tt-title' }, h('strong', null, c.name), h('span', { class: 'muted' }, ` #${c.rank}`)),
    ...extra,
    c.disqualified
      ? h('div', { class: 'tt-dq' }, 'DISQUALIFIED', h('div', null, DQ_TEXT[c.disqualified] ?? c.disqualified))
      : null,
    h('div', { class: 'tt-section' }, 'Performance'),
    row('Fitness', fitnessText(c)),
    row('Pellets', `${c.pellets}/${c.pellets_spawned}`),
    c.trial_pellets ? row(`Per trial (${c.trial_pellets.length})`, trialPelletsText(c) ?? '-') : null,
    row('Distance', fmt(c.distance)),
    h('div', { class: 'tt-section' }, 'Genetics'),
    row('Generation', `${c.born}`),
    row('Origin', c.origin),
    h('div', { class: 'tt-section' }, 'Structure'),
    row('Nodes', `${c.n_nodes}`),
    row('Muscles', `${c.n_muscles}`),
    row('Avg stiffness', fmt(c.avg_stiffness)),
    row('Avg frequency', `${fmt(c.avg_frequency, 2)} Hz`),
    row('Global speed', `${fmt(c.global_frequency_multiplier, 2)}×`),
    h('div', { class: 'tt-foot' }, c.frames === 'stored' ? 'Click to replay' : 'Click to replay (re-simulated)'),
  ].filter((x): x is HTMLElement => x !== null);
}

export function showTooltip(content: HTMLElement[], ev: MouseEvent): void {
  const t = ensure();
  clear(t);
  t.append(...content);
  t.classList.remove('hidden');
  moveTooltip(ev);
}

export function moveTooltip(ev: MouseEvent): void {
  const t = ensure();
  if (t.classList.contains('hidden')) return;
  const pad = 14;
  const r = t.getBoundingClientRect();
  let x = ev.clientX + pad;
  let y = ev.clientY + pad;
  if (x + r.width > window.innerWidth - 4) x = ev.clientX - pad - r.width;
  if (y + r.height > window.innerHeight - 4) y = ev.clientY - pad - r.height;
  t.style.left = `${Math.max(4, x)}px`;
  t.style.top = `${Math.max(4, y)}px`;
}

export function hideTooltip(): void {
  el?.classList.add('hidden');
}
