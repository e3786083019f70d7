/** Ancestry of a creature as an indented text tree (GET lineage), with a Both/Crossover/Clone filter. */
import { api } from '../api';
import { clear, h, hslCss } from '../dom';
import type { Ancestor, CreatureDetail, LineageMode } from '../types';

const MODE_LABEL: Record<LineageMode, string> = { both: 'Both', crossover: 'Crossover only', clone: 'Clone only' };

function line(a: { born: number; fitness: number | null; n_nodes: number; n_muscles: number }): string {
  const pts = a.fitness === null || !Number.isFinite(a.fitness) ? '?' : Math.round(a.fitness);
  return `Gen ${a.born} · ${pts} pts · n${a.n_nodes}/m${a.n_muscles}`;
}

export function renderFamilyTree(runId: string, creature: CreatureDetail, rootFitness: number | null): HTMLElement {
  const body = h('div', { class: 'tree-body', testid: 'family-tree-body' }, 'Loading…');
  const select = h(
    'select',
    { testid: 'lineage-mode', onchange: () => void load(select.value as LineageMode) },
    (Object.keys(MODE_LABEL) as LineageMode[]).map((m) => h('option', { value: m }, MODE_LABEL[m])),
  );
  let token = 0;

  async function load(mode: LineageMode): Promise<void> {
    const mine = ++token;
    body.textContent = 'Loading…';
    try {
      const lineage = await api.lineage(runId, creature.id, mode);
      if (mine !== token) return;
      draw(lineage.ancestors, mode);
    } catch (err) {
      if (mine === token) body.textContent = `Could not load lineage: ${(err as Error).message}`;
    }
  }

  function draw(ancestors: Ancestor[], mode: LineageMode): void {
    clear(body);
    const byId = new Map(ancestors.map((a) => [a.id, a]));
    const g = creature.genome;
    const rootLine = line({
      born: creature.born,
      fitness: rootFitness,
      n_nodes: g.nodes.length,
      n_muscles: g.muscles.length,
    });
    const parents = creature.parent_ids;
    const note = parents.length === 0 ? '' : parents.length === 1 ? ' (mutated from)' : ' (offspring of)';
    const rows: HTMLElement[] = [
      h(
        'div',
        { class: 'tree-line root', style: { color: hslCss(creature.color, 0.68) } },
        `${creature.name} · ${rootLine}${note}`,
      ),
    ];
    const seen = new Set<string>([creature.id]);
    let minGen = creature.born;
    let count = 0;
    const walk = (ids: string[], prefix: string, depth: number): void => {
      const known = ids.filter((id) => byId.has(id) && !seen.has(id));
      known.forEach((id, i) => {
        const a = byId.get(id)!;
        seen.add(id);
        count += 1;
        minGen = Math.min(minGen, a.born);
        const last = i === known.length - 1;
        rows.push(
          h(
            'div',
            { class: 'tree-line', style: { color: hslCss(a.color, 0.68) }, title: `${a.name} (${a.id})` },
            h('span', { class: 'tree-branch' }, `${prefix}${last ? '└─ ' : '├─ '}`),
            `${a.name} · ${line(a)}`,
          ),
        );
        if (depth < 100) walk(a.parent_ids, `${prefix}${last ? '   ' : '│  '}`, depth + 1);
      });
    };
    walk(parents, '', 1);
    const header =
      count === 0
        ? creature.born === 0
          ? 'Gen 0 - Randomly generated'
          : `No ancestors found [${MODE_LABEL[mode]}]`
        : `${count} ancestor${count === 1 ? '' : 's'} traced to Gen ${minGen}${count >= 100 ? ' (capped at 100)' : ''} [${MODE_LABEL[mode]}]`;
    body.append(h('div', { class: 'tree-header', testid: 'family-tree-header' }, header), ...rows);
  }

  void load('both');
  return h(
    'div',
    { class: 'family-tree', testid: 'family-tree' },
    h('div', { class: 'panel-head' }, h('span', null, 'Family tree'), select),
    body,
  );
}
