/**
 * "Load Run" modal: every stored run (CLI runs too), newest first, live-updated from the WebSocket; import
 * from a file (an evolab export or the original app's dump) and export each run.
 */
import { api, ApiError } from '../api';
import { clear, formatDate, h } from '../dom';
import { store } from '../store';
import { toast } from '../toast';
import type { ImportResult, RunSummary } from '../types';
import { openModal } from './modal';
import { statusBadge, updateStatusBadge } from './statusBadge';

export function openLoadRuns(onOpen: (run: RunSummary) => void): void {
  const list = h('div', { class: 'run-list', testid: 'run-list' }, h('div', { class: 'muted' }, 'Loading runs…'));
  const modal = openModal({
    title: 'Load Run',
    testid: 'load-run-modal',
    className: 'load-runs',
    onClose: () => unsubscribe(),
  });
  modal.body.append(importBar(), list);
  // Cards keep their element across refreshes so an open rename or a pending delete survives live updates.
  const cards = new Map<string, { el: HTMLElement; update: (r: RunSummary) => void }>();

  function render(runs: RunSummary[]): void {
    const sorted = [...runs].sort((a, b) => b.created_at - a.created_at);
    if (!sorted.length) {
      clear(list);
      cards.clear();
      list.append(
        h(
          'div',
          { class: 'empty', testid: 'runs-empty' },
          h('div', { class: 'empty-title' }, 'No runs yet'),
          h(
            'div',
            { class: 'muted' },
            'Start an evolution from the menu, run `evolab evolve` in a terminal, or import a file.',
          ),
        ),
      );
      return;
    }
    const seen = new Set<string>();
    const els: HTMLElement[] = [];
    for (const run of sorted) {
      seen.add(run.id);
      let card = cards.get(run.id);
      if (!card) {
        card = buildCard(run);
        cards.set(run.id, card);
      } else card.update(run);
      els.push(card.el);
    }
    for (const id of [...cards.keys()]) if (!seen.has(id)) cards.delete(id);
    clear(list);
    list.append(...els);
  }

  function buildCard(initial: RunSummary): { el: HTMLElement; update: (r: RunSummary) => void } {
    let run = initial;
    const name = h('input', {
      class: 'run-name-input',
      testid: 'run-name',
      value: run.name,
      placeholder: 'Name this run…',
      onclick: (ev: Event) => ev.stopPropagation(),
      onkeydown: (ev: KeyboardEvent) => {
        if (ev.key === 'Enter') (ev.target as HTMLInputElement).blur();
        ev.stopPropagation();
      },
      onchange: async () => {
        const value = name.value.trim();
        if (!value || value === run.name) return;
        try {
          const updated = await api.renameRun(run.id, value);
          run = { ...run, name: updated.name };
        } catch {
          name.value = run.name;
        }
      },
    });
    const badge = statusBadge(run, 'run-card-status');
    let armed = false;
    let disarmTimer = 0;
    const del = h('button', { class: 'btn small danger-ghost', testid: 'run-delete', title: 'Delete this run' }, '×');
    del.addEventListener('click', async (ev) => {
      ev.stopPropagation();
      if (!armed) {
        armed = true;
        del.textContent = 'Delete?';
        del.classList.add('armed');
        disarmTimer = window.setTimeout(() => {
          armed = false;
          del.textContent = '×';
          del.classList.remove('armed');
        }, 4000);
        return;
      }
      window.clearTimeout(disarmTimer);
      del.disabled = true;
      try {
        await api.deleteRun(run.id);
        cards.delete(run.id);
        const rest = (store.runs ?? []).filter((r) => r.id !== run.id);
        store.setRuns(rest);
      } catch {
        del.disabled = false;
        armed = false;
        del.textContent = '×';
        del.classList.remove('armed');
      }
    });
    // a plain link: the browser streams the download to disk, named by the server's Content-Disposition
    const exportLink = h(
      'a',
      {
        class: 'btn small ghost',
        testid: 'run-export',
        href: api.exportUrl(run.id),
        download: '',
        title: 'Download this run as one evolab export file',
        onclick: (ev: Event) => ev.stopPropagation(),
      },
      'Export',
    );
    const genLine = h('div', { class: 'run-meta mono', testid: 'run-gen' });
    const cfgLine = h('div', { class: 'run-meta muted', testid: 'run-config' }, '…');
    const extra = h('div', { class: 'run-meta muted' });
    const el = h(
      'div',
      { class: 'run-card', testid: 'run-card', tabindex: 0, 'data-run-id': run.id },
      h('div', { class: 'run-card-head' }, name, badge, exportLink, del),
      genLine,
      cfgLine,
      extra,
    );
    el.addEventListener('click', () => {
      modal.close();
      onOpen(run);
    });
    el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && ev.target === el) el.click();
    });
    const update = (r: RunSummary): void => {
      run = r;
      if (document.activeElement !== name) name.value = r.name;
      updateStatusBadge(badge, r);
      const latest = r.generation_count - 1;
      genLine.textContent = `Gen ${latest < 0 ? '-' : latest} | ${formatDate(r.created_at)}`;
      const bits = [`${r.population_size} creatures`, `${r.duration}s`];
      if (r.neural_mode !== 'off') bits.push(`neural ${r.neural_mode}`);
      if (r.turbo) bits.push('turbo');
      if (r.parent_run_id) bits.push(`fork @ gen ${r.fork_generation}`);
      if (r.trials > 1) bits.push(`${r.trials} trials`);
      if (r.backend !== 'cpu') bits.push(`on ${r.backend}`);
      if (r.imported_from === 'original-app') bits.push('imported from the original app');
      if (r.best_fitness !== null) bits.push(`${r.best_by_benchmark ? 'champion (benchmark)' : 'best'} ${r.best_fitness.toFixed(1)}`);
      extra.textContent = bits.join(' · ');
      cfgLine.textContent = `Gravity: ${r.gravity} | Mut: ${Math.round(r.mutation_rate * 100)}%`;
    };
    update(run);
    return { el, update };
  }

  const unsubscribe = store.onRuns(() => {
    if (store.runs) render(store.runs);
  });
  api.runs().then(
    (runs) => {
      store.setRuns(runs);
    },
    (err: Error) => {
      clear(list);
      list.append(h('div', { class: 'empty error', testid: 'runs-error' }, `Could not load runs: ${err.message}`));
    },
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 1 : 0)} MB`;
}

/** One line for what an import added (its warnings are toasted apart). */
function describeImport(result: ImportResult): string {
  const runs = result.runs.map((r) => `“${r.name}”`).join(', ');
  const what = result.source === 'original-app' ? 'from the original app' : 'from an evolab export';
  const plural = result.runs.length === 1 ? '' : 's';
  const counts = `${result.generations} generations, ${result.results} results, ${result.replays} replays`;
  return `Imported ${result.runs.length} run${plural} ${what}: ${runs} (${counts})`;
}

/** "Import from file": a file input, the upload's progress, then what was imported or why it was refused. */
function importBar(): HTMLElement {
  const input = h('input', {
    type: 'file',
    accept: '.json,.json.gz,.gz,application/json,application/gzip',
    class: 'hidden',
    testid: 'import-file-input',
  });
  const button = h(
    'button',
    {
      class: 'btn small accent',
      testid: 'import-file',
      title: 'An evolab export or the original app’s dump (.json or .json.gz)',
      onclick: () => input.click(),
    },
    'Import from file',
  );
  const fill = h('div', { class: 'bar-fill' });
  const bar = h('div', { class: 'bar hidden', testid: 'import-progress' }, fill);
  const status = h('div', { class: 'import-status muted', testid: 'import-status' });

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    input.value = ''; // choosing the same file again is a new import
    if (!file) return;
    button.disabled = true;
    bar.classList.remove('hidden');
    fill.style.width = '0%';
    status.className = 'import-status muted';
    status.textContent = `Uploading ${file.name}…`;
    try {
      const result = await api.importFile(
        file,
        (sent, total) => {
          fill.style.width = `${Math.round((100 * sent) / total)}%`;
          status.textContent =
            sent < total
              ? `Uploading ${file.name}: ${megabytes(sent)} of ${megabytes(total)}`
              : `Checking and importing ${file.name}…`;
        },
        true,
      );
      const line = describeImport(result);
      status.className = 'import-status success';
      status.textContent = line;
      toast(line, 'success', 6000);
      for (const warning of result.warnings) toast(`Warning: ${warning}`, 'info', 10_000);
      store.setRuns(await api.runs()); // the watcher would show them too, within half a second
    } catch (err) {
      const detail = err instanceof ApiError ? err.detail : (err as Error).message;
      status.className = 'import-status error';
      status.textContent = `Not imported: ${detail}`;
      toast(`${file.name}: ${detail}`);
    } finally {
      button.disabled = false;
      bar.classList.add('hidden');
    }
  });
  return h('div', { class: 'import-bar' }, button, input, bar, status);
}
