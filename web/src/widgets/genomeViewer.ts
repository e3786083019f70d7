/** Scrollable read-out of a creature's genome (reference §7.7 genome viewer). */
import { h, hslCss } from '../dom';
import type { CreatureDetail, GenomeMuscle } from '../types';

const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
const vec = (v: { x: number; y: number; z: number }): string => `(${f(v.x)}, ${f(v.y)}, ${f(v.z)})`;

function row(label: string, value: string): HTMLElement {
  return h('div', { class: 'kv' }, h('span', null, label), h('span', { class: 'mono' }, value));
}

function distanceKind(bias: number): string {
  if (bias > 0.1) return 'near';
  if (bias < -0.1) return 'far';
  return 'neutral';
}

function muscleBlock(m: GenomeMuscle, index: Map<string, number>, multiplier: number): HTMLElement {
  const a = index.get(m.nodeA) ?? m.nodeA;
  const b = index.get(m.nodeB) ?? m.nodeB;
  return h(
    'div',
    { class: 'gene muscle-gene' },
    h('div', { class: 'gene-title' }, `Node ${a} ↔ Node ${b}`),
    h('div', { class: 'gene-sub' }, 'Physical'),
    row('Rest length', f(m.restLength)),
    row('Stiffness', f(m.stiffness, 1)),
    row('Damping', f(m.damping)),
    h('div', { class: 'gene-sub' }, 'Oscillation'),
    row('Frequency', `${f(m.frequency)} Hz (eff. ${f(m.frequency * multiplier)} Hz)`),
    row('Amplitude', f(m.amplitude)),
    row('Phase', `${f(m.phase)} rad`),
    h('div', { class: 'gene-sub' }, 'Direction sensing'),
    row('Direction bias', vec(m.directionBias)),
    row('Bias strength', f(m.biasStrength)),
    h('div', { class: 'gene-sub' }, 'Proprioception & distance'),
    row('Velocity bias', vec(m.velocityBias)),
    row('Velocity strength', f(m.velocityStrength)),
    row('Distance bias', `${f(m.distanceBias)} (${distanceKind(m.distanceBias)})`),
    row('Distance strength', f(m.distanceStrength)),
  );
}

export function renderGenome(detail: CreatureDetail): HTMLElement {
  const g = detail.genome;
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const c = g.color;
  return h(
    'div',
    { class: 'genome-viewer', testid: 'genome-viewer' },
    h('div', { class: 'gene-title' }, 'Creature'),
    row('Id', detail.id),
    row('Name', detail.name),
    row('Born', `Gen ${detail.born}`),
    row('Origin', detail.origin),
    row('Survival streak', String(g.survivalStreak)),
    row('Parents', detail.parent_ids.length ? detail.parent_ids.join(', ') : 'none'),
    row('Speed multiplier', `${f(g.globalFrequencyMultiplier)}×`),
    h(
      'div',
      { class: 'kv' },
      h('span', null, 'Colour (HSL)'),
      h(
        'span',
        { class: 'mono' },
        h('i', { class: 'swatch', style: { background: hslCss(c, 0) } }),
        ` ${f(c.h)}, ${f(c.s)}, ${f(c.l)}`,
      ),
    ),
    h('div', { class: 'gene-title' }, `Nodes (${g.nodes.length})`),
    g.nodes.map((n, i) =>
      h(
        'div',
        { class: 'gene' },
        h('div', { class: 'gene-head' }, `Node ${i}`),
        row('Size', f(n.size)),
        row('Friction', f(n.friction)),
        row('Position', vec(n.position)),
      ),
    ),
    h('div', { class: 'gene-title' }, `Muscles (${g.muscles.length})`),
    g.muscles.map((m) => muscleBlock(m, index, g.globalFrequencyMultiplier)),
  );
}
