/**
 * Grid (evolution) screen of one run: stats and generation navigator, history mode and fork, the creature
 * grid with thumbnails and tooltips, controls that queue server jobs, and the two charts; follows the run
 * live through WebSocket `generation` / `runs` / `job` messages (CLI runs included).
 *
 * This module wires the parts and does what their buttons ask: `gridState` holds what the screen shows,
 * `generationSource` fetches generations, `statsPanel`, `gridPanels` and `creatureGrid` draw.
 */
import { api } from '../api';
import { h, isTyping } from '../dom';
import { live } from '../live';
import { store } from '../store';
import { toast } from '../toast';
import type { CreatureCard, GenerationDetail, RunSummary } from '../types';
import { Charts } from '../widgets/charts';
import { anyModalOpen } from '../widgets/modal';
import { openReplay } from '../widgets/replay';
import { hideTooltip } from '../widgets/tooltip';
import { CreatureGrid } from './creatureGrid';
import { GenerationSource } from './generationSource';
import { Controls, SettingsPanel } from './gridPanels';
import { GridState } from './gridState';
import { StatsPanel } from './statsPanel';

export interface GridScreen {
  el: HTMLElement;
  open(runId: string, generation: number | null): void;
  hide(): void;
  readonly runId: string | null;
}

export function createGrid(navigate: (hash: string) => void): GridScreen {
  const state = new GridState();
  const charts = new Charts();
  const source = new GenerationSource(state, showDetail);
  const cards = new CreatureGrid(state, (card, g) => openCardReplay(card, g));
  const stats = new StatsPanel(state, charts, {
    step,
    view: setView,
    fork: () => void fork(),
    openReplay: (card, g) => openCardReplay(card, g),
    card: (g, id) => source.card(g, id),
  });
  const settings = new SettingsPanel(state);
  const controls = new Controls(state, {
    advance: (n) => void advance(n),
    stop: () => void stop(),
    toggleCharts: () => {
      charts.toggle();
      syncGraphBtn();
    },
    menu: () => navigate('#/'),
  });

  const el = h(
    'div',
    { class: 'screen grid-screen hidden', testid: 'grid-screen' },
    h('aside', { class: 'grid-left' }, stats.el),
    h('main', { class: 'grid-main' }, controls.el, controls.progress, cards.empty, cards.el, cards.more),
    h('aside', { class: 'grid-right' }, settings.el, charts.fitnessPanel, charts.typesPanel),
  );

  function syncGraphBtn(): void {
    controls.graphBtn.classList.toggle('active', charts.visible);
    el.classList.toggle('charts-hidden', charts.fitnessPanel.classList.contains('hidden') && charts.typesPanel.classList.contains('hidden'));
  }
  for (const p of [charts.fitnessPanel, charts.typesPanel]) {
    new MutationObserver(syncGraphBtn).observe(p, { attributes: true, attributeFilter: ['class'] });
  }

  function openCardReplay(card: CreatureCard, generation: number): void {
    const { runId } = state;
    if (!runId) return;
    hideTooltip();
    openReplay({ runId, generation, creatureId: card.id, card, stiffnessRange: state.stiffnessRange(), title: card.name });
  }

  /** A generation the source brought (null: none to show). */
  function showDetail(detail: GenerationDetail | null): void {
    if (detail) {
      el.dataset.generation = String(state.shownGen);
      stats.renderStats(detail);
      cards.render(detail);
    } else {
      stats.renderStats(null);
      cards.clearCards();
    }
    cards.renderEmpty();
  }

  function renderNav(): void {
    stats.renderNav();
    el.classList.toggle('history', state.inHistory);
    controls.render();
  }

  function renderRun(): void {
    settings.render();
    stats.renderRun();
  }

  function setUrl(): void {
    const { runId, visible } = state;
    if (!runId || !visible) return;
    const base = `#/run/${encodeURIComponent(runId)}`;
    const hash = state.inHistory ? `${base}/gen/${state.viewed}` : base;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  function setView(g: number | null): void {
    state.viewed = state.viewFor(g);
    renderNav();
    setUrl();
    void source.show(state.viewedGen);
  }

  function step(delta: number): void {
    if (state.latest < 0) return;
    const g = state.viewedGen + delta;
    if (g < 0 || g > state.latest) return;
    setView(g);
  }

  async function advance(n: number): Promise<void> {
    if (!state.runId) return;
    controls.holdAdvance();
    try {
      store.noteJob(await api.advance(state.runId, n));
    } catch {
      controls.render();
    }
  }

  async function stop(): Promise<void> {
    const { runId, run, job } = state;
    if (!runId) return;
    controls.holdStop();
    try {
      const foreign = !!run?.live && !job;
      const res = await api.stop(runId);
      if (!res.stopping) toast('Nothing to stop', 'info', 2500);
      else if (foreign) toast('Asked evolab evolve to stop after this generation', 'info', 3500);
    } catch {
      /* toasted */
    } finally {
      controls.render();
    }
  }

  async function fork(): Promise<void> {
    const { runId, viewed: g } = state;
    if (!runId || g === null) return;
    stats.forkBtn.disabled = true;
    try {
      const created = await api.fork(runId, g);
      toast(`Forked “${created.name}” from generation ${g}`, 'success', 3000);
      navigate(`#/run/${encodeURIComponent(created.id)}`);
    } catch {
      /* toasted */
    } finally {
      stats.forkBtn.disabled = false;
    }
  }

  async function loadRun(id: string, g: number | null): Promise<void> {
    state.reset(id, store.jobFor(id));
    source.clear();
    cards.reset();
    charts.setData([]); // before the stats: their benchmark trend reads the charts' history
    stats.reset();
    try {
      const detail = await api.run(id);
      if (state.runId !== id) return;
      state.setRun(detail);
      renderRun();
      state.viewed = state.viewFor(g);
      renderNav();
      setUrl();
      cards.renderEmpty();
      void source.show(state.viewedGen);
      const history = await api.generations(id);
      if (state.runId !== id) return;
      charts.setData(history);
      stats.renderBenchmark();
    } catch {
      if (state.runId !== id) return;
      cards.say('This run could not be loaded.');
    }
  }

  /** Catch up after a reconnect: generations may have been stored while the socket was down. */
  async function resync(): Promise<void> {
    const id = state.runId;
    if (!id || !state.visible) return;
    try {
      const detail = await api.run(id, true);
      if (state.runId !== id) return;
      const grew = detail.generation_count - 1 !== state.latest;
      state.setRun(detail);
      renderRun();
      renderNav();
      if (grew) {
        charts.setData(await api.generations(id));
        stats.renderBenchmark();
        if (state.viewed === null) void source.refreshLatest();
      }
    } catch {
      /* the next reconnect retries */
    }
  }

  function onSummary(summary: RunSummary): void {
    const grew = summary.generation_count - 1 > state.latest;
    state.mergeSummary(summary);
    renderRun();
    renderNav();
    if (grew && state.viewed === null) void source.refreshLatest();
  }

  live.subscribe((msg) => {
    const { runId } = state;
    if (!runId || !state.visible) return; // a hidden grid reloads everything when it opens again
    if (msg.type === 'generation' && msg.run_id === runId) {
      const before = state.latest;
      state.mergeSummary(msg.run);
      state.latest = Math.max(state.latest, msg.stats.generation);
      charts.put(msg.stats);
      source.forget(runId, msg.stats.generation);
      renderRun(); // the champion and the benchmark trend too
      renderNav();
      if (state.viewed === null && (state.latest !== before || msg.stats.generation === state.latest)) {
        void source.refreshLatest();
      }
      cards.renderEmpty();
    } else if ((msg.type === 'runs' || msg.type === 'hello') && state.run) {
      const summary = msg.runs.find((r) => r.id === runId);
      if (summary) onSummary(summary);
    }
  });
  live.onState((connected) => {
    if (connected) void resync();
  });
  store.onJob((j) => {
    const { runId } = state;
    if (!runId) return;
    const before = state.job;
    state.job = store.jobFor(runId);
    if (j && j.run_id === runId && (j.state === 'failed' || j.state === 'stopped')) {
      if (j.state === 'failed') toast(`Job failed: ${j.error ?? 'unknown error'}`);
      else toast(`Stopped after ${j.done} of ${j.total} generation${j.total === 1 ? '' : 's'}`, 'info', 3000);
    }
    controls.render();
    cards.renderEmpty();
    if (before && !state.job) void resync();
  });

  document.addEventListener('keydown', (ev) => {
    if (!state.visible || anyModalOpen() || isTyping(ev)) return;
    if (ev.key === 'ArrowLeft') {
      ev.preventDefault();
      step(-1);
    } else if (ev.key === 'ArrowRight') {
      ev.preventDefault();
      step(1);
    }
  });

  syncGraphBtn();

  return {
    el,
    get runId() {
      return state.runId;
    },
    open(id: string, g: number | null) {
      const wasVisible = state.visible;
      state.visible = true;
      el.classList.remove('hidden');
      if (id !== state.runId || !wasVisible) {
        void loadRun(id, g);
      } else {
        setView(g);
      }
    },
    hide() {
      state.visible = false;
      el.classList.add('hidden');
      hideTooltip();
    },
  };
}
