/**
 * Grid (evolution) screen of one run: stats and generation navigator, history mode and fork, the creature
 * grid with thumbnails and tooltips, controls that queue server jobs, and the two charts; follows the run
 * live through WebSocket `generation` / `runs` / `job` messages (CLI runs included).
 */
import { api } from '../api';
import { clear, fmt, h, isTyping } from '../dom';
import { live } from '../live';
import { bodyFromCard, DEFAULT_STIFFNESS_RANGE } from '../render/body';
import { drawThumbnail, requestThumbnail, THUMB_SIZE } from '../render/thumbnails';
import { store } from '../store';
import { toast } from '../toast';
import { benchmarkTrend, championText, fitnessText, trendText } from '../scores';
import type { CreatureCard, GenerationDetail, Job, RunDetail, RunSummary } from '../types';
import { Charts } from '../widgets/charts';
import { anyModalOpen } from '../widgets/modal';
import { openReplay } from '../widgets/replay';
import { statusBadge, updateStatusBadge } from '../widgets/statusBadge';
import { cardTooltip, hideTooltip, moveTooltip, showTooltip } from '../widgets/tooltip';

export interface GridScreen {
  el: HTMLElement;
  open(runId: string, generation: number | null): void;
  hide(): void;
  readonly runId: string | null;
}

interface Slot {
  el: HTMLElement;
  canvas: HTMLCanvasElement;
  name: HTMLElement;
  fitness: HTMLElement;
  card: CreatureCard | null;
  /** The thumbnail shows an older creature or pose; redrawn when the card scrolls into view. */
  dirty: boolean;
  onScreen: boolean;
}

/** Cards rendered at first; large populations page in with "Show more". */
const CARD_PAGE = 200;
const REFRESH_MIN_MS = 1000;

const GEN_CACHE_MAX = 8;

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`;
}

export function createGrid(navigate: (hash: string) => void): GridScreen {
  let runId: string | null = null;
  let run: RunDetail | null = null;
  let latest = -1;
  let viewed: number | null = null; // null: follow the latest generation
  let shownGen = -1;
  let token = 0;
  let visible = false;
  let job: Job | null = null;
  let latestInFlight = false;
  let latestPending = false;
  let lastRefresh = 0;
  const genCache = new Map<string, GenerationDetail>();
  const charts = new Charts();

  const stiffnessRange = (): [number, number] => {
    const c = run?.config?.constraints;
    return c && c.min_stiffness !== undefined && c.max_stiffness !== undefined
      ? [c.min_stiffness, c.max_stiffness]
      : DEFAULT_STIFFNESS_RANGE;
  };
  const viewedGen = (): number => viewed ?? latest;
  const inHistory = (): boolean => viewed !== null && viewed < latest;

  // ---------- stats panel ----------
  const nameInput = h('input', { class: 'run-title', testid: 'grid-run-name', placeholder: 'Name this run…', maxlength: '120' });
  nameInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') nameInput.blur();
  });
  nameInput.addEventListener('change', async () => {
    if (!run || !runId) return;
    const value = nameInput.value.trim();
    if (!value || value === run.name) {
      nameInput.value = run.name;
      return;
    }
    try {
      const updated = await api.renameRun(runId, value);
      if (run && updated.id === run.id) run.name = updated.name;
    } catch {
      nameInput.value = run.name;
    }
  });
  const badge = statusBadge({ status: 'created', live: false });
  const runIdEl = h('span', { class: 'run-id mono', testid: 'grid-run-id' });
  const prevBtn = h('button', { class: 'icon-btn nav', testid: 'gen-prev', title: 'Previous generation (←)', onclick: () => step(-1) }, '‹');
  const nextBtn = h('button', { class: 'icon-btn nav', testid: 'gen-next', title: 'Next generation (→)', onclick: () => step(1) }, '›');
  const genLabel = h('button', { class: 'gen-label', testid: 'gen-label', title: 'Jump to a generation' });
  const latestLink = h('button', { class: 'gen-latest link', testid: 'gen-latest', title: 'Back to the latest generation', onclick: () => goLatest() });
  const jumpInput = h('input', { type: 'number', class: 'gen-jump hidden', testid: 'gen-jump-input', min: '0', step: '1' });
  genLabel.addEventListener('click', () => {
    if (latest < 0) return;
    jumpInput.max = String(latest);
    jumpInput.value = String(viewedGen());
    jumpInput.placeholder = `0-${latest}`;
    genLabel.classList.add('hidden');
    jumpInput.classList.remove('hidden');
    jumpInput.focus();
    jumpInput.select();
  });
  const endJump = (apply: boolean): void => {
    if (jumpInput.classList.contains('hidden')) return;
    jumpInput.classList.add('hidden');
    genLabel.classList.remove('hidden');
    if (!apply) return;
    const g = Number(jumpInput.value);
    if (Number.isInteger(g) && g >= 0 && g <= latest) setView(g);
    else toast(`Generation must be 0-${latest}`, 'info', 2500);
  };
  jumpInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') endJump(true);
    else if (ev.key === 'Escape') {
      ev.stopPropagation();
      endJump(false);
    }
  });
  jumpInput.addEventListener('blur', () => endJump(false));
  const historyBadge = h('span', { class: 'history-badge hidden', testid: 'history-badge' }, 'VIEWING HISTORY');
  const forkBtn = h('button', { class: 'btn small accent hidden', testid: 'fork', onclick: () => void fork() }, 'Fork');
  const statCreatures = h('span', { class: 'mono', testid: 'stat-creatures' }, '-');
  const statBest = h('span', { class: 'mono success', testid: 'stat-best' }, '-');
  const statAvg = h('span', { class: 'mono accent', testid: 'stat-avg' }, '-');
  const statWorst = h('span', { class: 'mono danger', testid: 'stat-worst' }, '-');
  const statBenchmark = h('span', { class: 'mono benchmark', testid: 'stat-benchmark' }, '-');
  const statBenchmarkPellets = h('span', { class: 'mono benchmark', testid: 'stat-benchmark-pellets' }, '-');
  const benchmarkTip = 'This generation’s best on the held-out benchmark layouts (never used for selection)';
  const benchmarkRows = [
    h('div', { class: 'kv hidden', title: benchmarkTip }, h('span', null, 'Benchmark'), statBenchmark),
    h('div', { class: 'kv hidden', title: `${benchmarkTip}: mean pellets per layout` }, h('span', null, 'Benchmark pellets'), statBenchmarkPellets),
  ];
  const statExtra = h('div', { class: 'muted small', testid: 'stat-extra' });

  const mini = (testid: string, cls: string) => {
    const canvas = h('canvas', { width: 96, height: 96, class: 'mini-thumb' });
    const title = h('div', { class: 'mini-title' });
    const sub = h('div', { class: 'mini-sub mono' });
    const el = h('div', { class: `mini-card ${cls} hidden`, testid, tabindex: 0 }, canvas, h('div', { class: 'mini-text' }, title, sub));
    return { el, canvas, title, sub, card: null as CreatureCard | null, key: '' };
  };
  const longest = mini('longest-survivor', 'purple');
  const bestEver = mini('best-ever', 'gold');
  const championEl = h('div', { class: 'mini-sub champion-line hidden', testid: 'champion' });
  bestEver.title.parentElement?.append(championEl);
  const trendValue = h('span', { class: 'trend-value', testid: 'benchmark-progress' });
  const trendFitness = h('span', { class: 'muted', testid: 'benchmark-progress-fitness' });
  const trendEl = h(
    'div',
    { class: 'benchmark-trend hidden' },
    h('div', { class: 'trend-label' }, 'Benchmark pellets'),
    trendValue,
    trendFitness,
  );

  const statsPanel = h(
    'section',
    { class: 'panel stats-panel', testid: 'stats-panel' },
    h('div', { class: 'title-row' }, nameInput),
    h('div', { class: 'sub-row' }, badge, runIdEl),
    h('div', { class: 'gen-nav' }, prevBtn, h('div', { class: 'gen-center' }, genLabel, jumpInput, latestLink), nextBtn),
    h('div', { class: 'history-row' }, historyBadge, forkBtn),
    h(
      'div',
      { class: 'stat-rows' },
      h('div', { class: 'kv' }, h('span', null, 'Creatures'), statCreatures),
      h('div', { class: 'kv' }, h('span', null, 'Best'), statBest),
      h('div', { class: 'kv' }, h('span', null, 'Average'), statAvg),
      h('div', { class: 'kv' }, h('span', null, 'Worst'), statWorst),
      ...benchmarkRows,
      statExtra,
    ),
    longest.el,
    bestEver.el,
    trendEl,
  );

  // ---------- settings ----------
  const settingsBody = h('div', { class: 'settings-body', testid: 'settings' });
  const settingsPanel = h('section', { class: 'panel settings-panel' }, h('div', { class: 'panel-head' }, h('span', null, 'Settings')), settingsBody);

  // ---------- controls ----------
  const nextGenBtn = h('button', { class: 'btn primary', testid: 'next-generation', onclick: () => void advance(1) }, 'Next generation');
  const autoBtns = [1, 10, 100].map((n) =>
    h('button', { class: 'btn', testid: `advance-${n}`, title: `Evolve ${n} generation${n > 1 ? 's' : ''}`, onclick: () => void advance(n) }, `${n}x`),
  );
  const stopBtn = h('button', { class: 'btn danger', testid: 'stop', onclick: () => void stop() }, 'Stop');
  const graphBtn = h('button', { class: 'btn', testid: 'toggle-charts', onclick: () => { charts.toggle(); syncGraphBtn(); } }, 'Graph');
  const menuBtn = h('button', { class: 'btn ghost', testid: 'menu', onclick: () => navigate('#/') }, 'Menu');
  const progressFill = h('div', { class: 'bar-fill' });
  const progressText = h('span', { class: 'progress-text', testid: 'job-progress-text' });
  const progress = h('div', { class: 'job-progress hidden', testid: 'job-progress' }, h('div', { class: 'bar' }, progressFill), progressText);
  const controls = h(
    'div',
    { class: 'controls', testid: 'controls' },
    nextGenBtn,
    h('div', { class: 'seg' }, autoBtns),
    stopBtn,
    h('span', { class: 'spacer' }),
    graphBtn,
    menuBtn,
  );
  const syncGraphBtn = (): void => {
    graphBtn.classList.toggle('active', charts.visible);
    el.classList.toggle('charts-hidden', charts.fitnessPanel.classList.contains('hidden') && charts.typesPanel.classList.contains('hidden'));
  };
  for (const p of [charts.fitnessPanel, charts.typesPanel]) {
    new MutationObserver(syncGraphBtn).observe(p, { attributes: true, attributeFilter: ['class'] });
  }

  // ---------- creature grid ----------
  const gridEl = h('div', { class: 'creature-grid', testid: 'creature-grid' });
  const emptyEl = h('div', { class: 'grid-empty hidden', testid: 'grid-empty' });
  const slots: Slot[] = [];
  const slotOf = new WeakMap<Element, Slot>();
  let cardLimit = CARD_PAGE;
  const drawSlot = (slot: Slot): void => {
    if (!slot.card) return;
    slot.dirty = false;
    requestThumbnail(slot.canvas, bodyFromCard(slot.card, stiffnessRange()), slot.card.pose);
  };
  const visibility = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const slot = slotOf.get(e.target);
        if (!slot) continue;
        slot.onScreen = e.isIntersecting;
        if (slot.onScreen && slot.dirty) drawSlot(slot);
      }
    },
    { rootMargin: '300px' },
  );
  const moreBtn = h('button', { class: 'btn ghost more-btn hidden', testid: 'grid-show-more', onclick: () => {
    cardLimit += CARD_PAGE * 5;
    if (lastGeneration) renderCards(lastGeneration);
  } });
  let lastGeneration: GenerationDetail | null = null;

  const el = h(
    'div',
    { class: 'screen grid-screen hidden', testid: 'grid-screen' },
    h('aside', { class: 'grid-left' }, statsPanel),
    h('main', { class: 'grid-main' }, controls, progress, emptyEl, gridEl, moreBtn),
    h('aside', { class: 'grid-right' }, settingsPanel, charts.fitnessPanel, charts.typesPanel),
  );

  function makeSlot(): Slot {
    const canvas = h('canvas', { width: THUMB_SIZE, height: THUMB_SIZE, class: 'thumb' });
    const name = h('span', { class: 'card-name', testid: 'card-name' });
    const fitness = h('span', { class: 'card-fitness', testid: 'card-fitness' });
    const cardEl = h('div', { class: 'creature-card', testid: 'creature-card', tabindex: 0 }, canvas, name, fitness);
    const slot: Slot = { el: cardEl, canvas, name, fitness, card: null, dirty: false, onScreen: false };
    slotOf.set(cardEl, slot);
    visibility.observe(cardEl);
    cardEl.addEventListener('click', () => slot.card && openCardReplay(slot.card, shownGen));
    cardEl.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && slot.card) openCardReplay(slot.card, shownGen);
    });
    cardEl.addEventListener('mouseenter', (ev) => slot.card && showTooltip(cardTooltip(slot.card), ev));
    cardEl.addEventListener('mousemove', moveTooltip);
    cardEl.addEventListener('mouseleave', hideTooltip);
    return slot;
  }

  function openCardReplay(card: CreatureCard, generation: number, title?: string): void {
    if (!runId) return;
    hideTooltip();
    openReplay({ runId, generation, creatureId: card.id, card, stiffnessRange: stiffnessRange(), title: title ?? card.name });
  }

  /** Where each shown creature's card is, by creature id (for animating the next generation). */
  function cardPlaces(): Map<string, DOMRect> {
    const places = new Map<string, DOMRect>();
    for (const slot of slots) if (slot.card && slot.el.isConnected) places.set(slot.card.id, slot.el.getBoundingClientRect());
    return places;
  }

  /** Survivors glide from their old place to their new rank, newcomers fade in (the original's
   * kill / breed / sort animations, condensed into one calm step). */
  function animateCards(before: Map<string, DOMRect>, count: number): void {
    if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) return;
    for (const slot of slots.slice(0, count)) {
      if (!slot.card) continue;
      const old = before.get(slot.card.id);
      const now = slot.el.getBoundingClientRect();
      const frames: Keyframe[] = old
        ? [{ transform: `translate(${old.left - now.left}px, ${old.top - now.top}px)` }, { transform: 'none' }]
        : [{ opacity: 0, transform: 'scale(0.85)' }, { opacity: 1, transform: 'none' }];
      if (old && old.left === now.left && old.top === now.top) continue;
      slot.el.animate(frames, { duration: old ? 450 : 300, easing: 'ease-out' });
    }
  }

  function renderCards(detail: GenerationDetail): void {
    const previous = lastGeneration;
    const adjacent = !!previous && Math.abs(previous.stats.generation - detail.stats.generation) === 1;
    const before = adjacent && detail.creatures.length <= CARD_PAGE ? cardPlaces() : null;
    lastGeneration = detail;
    const all = [...detail.creatures].sort((a, b) => a.rank - b.rank);
    // the real elites (they survive unchanged), not the original's "top 10 %" that disagreed with them
    const topN = run?.config?.elite_count ?? Math.max(1, Math.round(all.length * 0.1));
    const cards = all.slice(0, cardLimit);
    const rest = all.length - cards.length;
    moreBtn.textContent = `Show ${Math.min(rest, CARD_PAGE * 5)} more of ${rest} remaining creatures`;
    moreBtn.classList.toggle('hidden', rest <= 0);
    while (slots.length < cards.length) slots.push(makeSlot());
    let moved = false;
    cards.forEach((card, i) => {
      const slot = slots[i];
      const changed = slot.card?.id !== card.id || slot.card?.pose !== card.pose;
      moved ||= slot.card !== null && slot.card.id !== card.id;
      slot.card = card;
      slot.el.dataset.creatureId = card.id;
      slot.el.dataset.rank = String(card.rank);
      slot.el.classList.toggle('elite', card.rank <= topN && !card.disqualified);
      slot.el.classList.toggle('dq', !!card.disqualified);
      // offspring bred for this generation, as the original marked its new cards
      slot.el.classList.toggle('newborn', card.born === detail.stats.generation && card.born > 0);
      slot.name.textContent = card.name;
      slot.fitness.textContent = Number.isFinite(card.fitness) ? String(Math.round(card.fitness)) : '—';
      if (card.fitness_std !== null && Number.isFinite(card.fitness) && Number.isFinite(card.fitness_std)) {
        slot.fitness.append(h('span', { class: 'card-spread' }, ` ±${Math.round(card.fitness_std)}`));
      }
      if (changed) {
        slot.dirty = true;
        if (slot.onScreen) drawSlot(slot);
      }
    });
    if (moved) hideTooltip(); // the card under the pointer now shows another creature
    const els = slots.slice(0, cards.length).map((s) => s.el);
    if (gridEl.children.length !== els.length || els.some((e, i) => gridEl.children[i] !== e)) {
      clear(gridEl);
      gridEl.append(...els);
    }
    if (before) animateCards(before, cards.length);
  }

  function renderStats(detail: GenerationDetail | null): void {
    const st = detail?.stats;
    statCreatures.textContent = detail ? String(detail.creatures.length) : '-';
    statBest.textContent = fmt(st?.best);
    statAvg.textContent = fmt(st?.average);
    statWorst.textContent = fmt(st?.worst);
    const scored = st?.benchmark_fitness != null && st.benchmark_pellets != null;
    for (const row of benchmarkRows) row.classList.toggle('hidden', !scored);
    statBenchmark.textContent = scored ? fmt(st.benchmark_fitness) : '-';
    statBenchmarkPellets.textContent = scored ? fmt(st.benchmark_pellets, 2) : '-';
    statExtra.textContent = st
      ? `${st.disqualified} disqualified · ${st.pellets} pellets · ${fmt(st.avg_nodes)} nodes avg · ${seconds(st.sim_seconds)} sim`
      : '';
  }

  function renderNav(): void {
    const g = viewedGen();
    const history = inHistory();
    if (latest < 0) {
      genLabel.textContent = 'Generation –';
      latestLink.classList.add('hidden');
    } else if (history) {
      genLabel.textContent = `Generation ${g}`;
      latestLink.textContent = `/ ${latest}`;
      latestLink.classList.remove('hidden');
    } else {
      genLabel.textContent = `Generation ${latest}`;
      latestLink.classList.add('hidden');
    }
    prevBtn.disabled = latest < 0 || g <= 0;
    nextBtn.disabled = !history;
    historyBadge.classList.toggle('hidden', !history);
    forkBtn.classList.toggle('hidden', !history);
    forkBtn.textContent = `Fork from Gen ${g}`;
    el.classList.toggle('history', history);
    renderControls();
  }

  function renderControls(): void {
    const busy = !!job;
    const writer = !!run?.live && !busy; // another process (the CLI) is evolving it
    const blocked = busy || writer || inHistory() || !run;
    for (const b of [nextGenBtn, ...autoBtns]) {
      b.disabled = blocked;
      b.title = inHistory()
        ? 'Return to the latest generation to continue'
        : writer
          ? 'Another process is evolving this run'
          : busy
            ? 'A job is running on this run'
            : b.title;
    }
    // a run `evolab evolve` is writing can be stopped too: the server asks that process to stop cleanly
    stopBtn.disabled = !busy && !writer && !(run?.status === 'running' && !run.live);
    stopBtn.title = writer ? 'Ask the evolab evolve process to stop after this generation' : 'Stop after this generation';
    if (job) {
      progress.classList.remove('hidden');
      const k = Math.min(job.done + 1, job.total);
      progressText.textContent =
        job.state === 'queued' ? 'Queued…' : `Generation ${k} of ${job.total}…`;
      progressFill.style.width = `${job.total > 0 ? (job.done / job.total) * 100 : 0}%`;
      progressText.dataset.done = String(job.done);
      progressText.dataset.total = String(job.total);
    } else {
      progress.classList.add('hidden');
    }
  }

  function renderRun(): void {
    if (!run) return;
    if (document.activeElement !== nameInput) nameInput.value = run.name;
    updateStatusBadge(badge, run);
    runIdEl.textContent = run.id;
    runIdEl.title = run.id;
    renderSettings();
    renderMinis();
    renderBenchmark();
  }

  /** The champion (judged on the benchmark) and how the benchmark score changed over the run. */
  function renderBenchmark(): void {
    const champion = run ? championText(run) : null;
    championEl.textContent = champion ?? '';
    championEl.classList.toggle('hidden', !champion);
    const trend = benchmarkTrend(charts.history);
    trendValue.textContent = trend ? trendText(trend) : '';
    trendFitness.textContent = trend ? `fitness ${fmt(trend.firstFitness)} → ${fmt(trend.lastFitness)}` : '';
    trendEl.title = trend
      ? `Mean over the first and the last ${trend.window} of the ${trend.scored} generations scored on the benchmark`
      : '';
    trendEl.classList.toggle('hidden', !trend);
  }

  function renderSettings(): void {
    if (!run) return;
    const c = run.config;
    const kv = (k: string, v: string, testid?: string): HTMLElement =>
      h('div', { class: 'kv' }, h('span', null, k), h('span', { class: 'mono', testid }, v));
    const fw = c.sim.fitness;
    const wasOpen = settingsBody.querySelector('details')?.open ?? false;
    clear(settingsBody);
    const rows: (HTMLElement | null)[] = [
      kv('Gravity', `${c.sim.gravity}`, 'setting-gravity'),
      kv('Mutation', `${Math.round(c.mutation_rate * 100)}%`, 'setting-mutation'),
      kv('Max freq', `${c.sim.max_allowed_frequency} Hz`),
      kv('Duration', `${c.sim.duration} s`),
      kv('Max nodes', `${c.constraints.max_nodes}`),
      kv('Max muscles', `${c.constraints.max_muscles}`),
      kv('Max size', `${c.constraints.max_size ?? 0.8}`),
      kv('Senses', c.sim.sensor_frame ?? 'world', 'setting-senses'),
      kv('Population', `${c.population_size}`),
      kv('Trials', `${c.trials ?? 1} layout${(c.trials ?? 1) === 1 ? '' : 's'}`, 'setting-trials'),
      kv(
        'Benchmark',
        c.benchmark?.enabled
          ? `${c.benchmark.layouts} layouts · top ${c.benchmark.top}${c.benchmark.every > 1 ? ` · every ${c.benchmark.every}` : ''}`
          : 'off',
        'setting-benchmark',
      ),
      kv('Neural', c.sim.neural_mode === 'off' ? 'off' : `${c.sim.neural_mode} · ${c.neural_hidden_size} ${c.neural_activation}`),
      kv('Frames', run.turbo ? 'turbo (re-simulated)' : 'stored'),
      run.seed !== null
        ? kv('Seed', Number.isSafeInteger(run.seed) ? String(run.seed) : `≈${run.seed.toPrecision(6)}`)
        : null,
      run.parent_run_id ? kv('Forked from', `${run.parent_run_id} @ ${run.fork_generation}`) : null,
      h(
        'details',
        { class: 'weights', testid: 'settings-weights', open: wasOpen },
        h('summary', null, 'Fitness weights'),
        fw
          ? [kv('Pellet', `${fw.pellet}`), kv('Progress', `${fw.progress}`), kv('Regression', `${fw.regression}`), kv('Movement', `${fw.movement}`)]
          : h('div', { class: 'muted' }, 'defaults'),
      ),
    ];
    settingsBody.append(...rows.filter((r): r is HTMLElement => r !== null));
  }

  async function cardOf(generation: number, creatureId: string): Promise<CreatureCard | null> {
    if (!runId) return null;
    const detail = await fetchGeneration(runId, generation);
    return detail.creatures.find((c) => c.id === creatureId) ?? null;
  }

  function renderMinis(): void {
    if (!run) return;
    const r = run;
    const update = async (
      m: ReturnType<typeof mini>,
      id: string | null,
      g: number | null,
      title: (c: CreatureCard) => string,
      sub: (c: CreatureCard) => string,
    ): Promise<void> => {
      if (!id || g === null || g < 0) {
        m.el.classList.add('hidden');
        m.key = '';
        return;
      }
      const key = `${r.id}/${g}/${id}`;
      if (m.key === key) return;
      m.key = key;
      try {
        const card = await cardOf(g, id);
        if (m.key !== key || !card) return;
        m.card = card;
        m.title.textContent = title(card);
        m.sub.textContent = sub(card);
        m.el.classList.remove('hidden');
        m.el.dataset.generation = String(g);
        drawThumbnail(m.canvas, bodyFromCard(card, stiffnessRange()), card.pose);
      } catch {
        m.key = '';
      }
    };
    void update(
      longest,
      r.longest_survivor_id,
      r.longest_generation,
      (c) => `Longest Survivor: ${c.name}`,
      (c) => `${r.longest_streak} gens · ${fitnessText(c)}`,
    );
    void update(
      bestEver,
      r.best_creature_id,
      r.best_generation,
      () => (r.best_by_benchmark ? 'Champion (benchmark)' : `Best Ever (Gen ${r.best_generation})`),
      (c) => (r.best_by_benchmark ? `${c.name} · Gen ${r.best_generation}` : `${c.name} · ${fmt(c.fitness)}`),
    );
  }

  for (const m of [longest, bestEver]) {
    const isLongest = m === longest;
    m.el.addEventListener('click', () => {
      if (!m.card || !run) return;
      const g = isLongest ? run.longest_generation : run.best_generation;
      if (g !== null) openCardReplay(m.card, g);
    });
    m.el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') m.el.click();
    });
    m.el.addEventListener('mouseenter', (ev) => {
      if (!m.card || !run) return;
      const extra = isLongest
        ? [h('div', { class: 'tt-note purple' }, `Survived ${run.longest_streak} consecutive gens`)]
        : run.best_by_benchmark
          ? [
              h('div', { class: 'tt-note gold' }, `Champion on the held-out benchmark, generation ${run.best_generation}`),
              h('div', { class: 'tt-note gold' }, `Benchmark: fitness ${fmt(run.best_fitness)} · ${fmt(run.best_pellets, 2)} pellets per layout`),
            ]
          : [h('div', { class: 'tt-note gold' }, `Best ever, generation ${run.best_generation} · ${m.card.parent_ids.length} parent(s)`)];
      showTooltip(cardTooltip(m.card, extra), ev);
    });
    m.el.addEventListener('mousemove', moveTooltip);
    m.el.addEventListener('mouseleave', hideTooltip);
  }

  // ---------- data ----------
  async function fetchGeneration(id: string, g: number): Promise<GenerationDetail> {
    const key = `${id}/${g}`;
    const hit = genCache.get(key);
    if (hit) return hit;
    const detail = await api.generation(id, g);
    genCache.set(key, detail);
    while (genCache.size > GEN_CACHE_MAX) genCache.delete(genCache.keys().next().value as string);
    return detail;
  }

  function renderEmpty(): void {
    const waiting = !!job || !!run?.live;
    emptyEl.textContent =
      latest >= 0
        ? ''
        : waiting
          ? 'Simulating generation 0…'
          : 'No generations yet. Press “Next generation” to evaluate generation 0.';
    emptyEl.classList.toggle('hidden', latest >= 0);
  }

  async function showGeneration(g: number, fresh = false): Promise<void> {
    if (!runId || g < 0) {
      renderStats(null);
      clear(gridEl);
      renderEmpty();
      return;
    }
    const mine = ++token;
    const id = runId;
    if (fresh) genCache.delete(`${id}/${g}`);
    try {
      const detail = await fetchGeneration(id, g);
      if (mine !== token || id !== runId) return;
      shownGen = g;
      el.dataset.generation = String(g);
      renderStats(detail);
      renderCards(detail);
      renderEmpty();
    } catch {
      /* toast already shown */
    }
  }

  /** Re-fetch the latest generation after a live update, at most one request in flight. */
  async function refreshLatest(): Promise<void> {
    if (latestInFlight) {
      latestPending = true;
      return;
    }
    latestInFlight = true;
    // Fast runs store several generations a second; redrawing every one would starve the thumbnails.
    const wait = lastRefresh + REFRESH_MIN_MS - performance.now();
    if (wait > 0) await new Promise((r) => window.setTimeout(r, wait));
    lastRefresh = performance.now();
    try {
      await showGeneration(latest);
    } finally {
      latestInFlight = false;
      if (latestPending) {
        latestPending = false;
        if (viewed === null) void refreshLatest();
      }
    }
  }

  function setUrl(): void {
    if (!runId || !visible) return;
    const base = `#/run/${encodeURIComponent(runId)}`;
    const hash = inHistory() ? `${base}/gen/${viewed}` : base;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  function setView(g: number | null): void {
    if (g !== null && (g >= latest || g < 0)) g = g < 0 ? 0 : null;
    viewed = g;
    renderNav();
    setUrl();
    void showGeneration(viewedGen());
  }

  function step(delta: number): void {
    if (latest < 0) return;
    const g = viewedGen() + delta;
    if (g < 0 || g > latest) return;
    setView(g);
  }

  function goLatest(): void {
    setView(null);
  }

  async function advance(n: number): Promise<void> {
    if (!runId) return;
    for (const b of [nextGenBtn, ...autoBtns]) b.disabled = true;
    try {
      const j = await api.advance(runId, n);
      store.noteJob(j);
    } catch {
      renderControls();
    }
  }

  async function stop(): Promise<void> {
    if (!runId) return;
    stopBtn.disabled = true;
    try {
      const foreign = !!run?.live && !job;
      const res = await api.stop(runId);
      if (!res.stopping) toast('Nothing to stop', 'info', 2500);
      else if (foreign) toast('Asked evolab evolve to stop after this generation', 'info', 3500);
    } catch {
      /* toasted */
    } finally {
      renderControls();
    }
  }

  async function fork(): Promise<void> {
    if (!runId || viewed === null) return;
    const g = viewed;
    forkBtn.disabled = true;
    try {
      const created = await api.fork(runId, g);
      toast(`Forked “${created.name}” from generation ${g}`, 'success', 3000);
      navigate(`#/run/${encodeURIComponent(created.id)}`);
    } catch {
      /* toasted */
    } finally {
      forkBtn.disabled = false;
    }
  }

  async function loadRun(id: string, g: number | null): Promise<void> {
    runId = id;
    run = null;
    latest = -1;
    viewed = null;
    shownGen = -1;
    genCache.clear();
    clear(gridEl);
    for (const slot of slots) visibility.unobserve(slot.el);
    slots.length = 0;
    cardLimit = CARD_PAGE;
    lastGeneration = null;
    moreBtn.classList.add('hidden');
    longest.key = '';
    bestEver.key = '';
    longest.el.classList.add('hidden');
    bestEver.el.classList.add('hidden');
    renderStats(null);
    charts.setData([]);
    renderBenchmark();
    job = store.jobFor(id);
    nameInput.value = '';
    emptyEl.textContent = 'Loading…';
    emptyEl.classList.remove('hidden');
    try {
      const detail = await api.run(id);
      if (runId !== id) return;
      run = detail;
      latest = detail.generation_count - 1;
      renderRun();
      viewed = g !== null && g < latest ? Math.max(0, g) : null;
      renderNav();
      setUrl();
      renderEmpty();
      void showGeneration(viewedGen());
      const stats = await api.generations(id);
      if (runId !== id) return;
      charts.setData(stats);
      renderBenchmark();
    } catch {
      if (runId !== id) return;
      emptyEl.textContent = 'This run could not be loaded.';
      emptyEl.classList.remove('hidden');
    }
  }

  /** Catch up after a reconnect: generations may have been stored while the socket was down. */
  async function resync(): Promise<void> {
    if (!runId || !visible) return;
    const id = runId;
    try {
      const detail = await api.run(id, true);
      if (runId !== id) return;
      const grew = detail.generation_count - 1 !== latest;
      run = detail;
      latest = detail.generation_count - 1;
      renderRun();
      renderNav();
      if (grew) {
        charts.setData(await api.generations(id));
        renderBenchmark();
        if (viewed === null) void refreshLatest();
      }
    } catch {
      /* the next reconnect retries */
    }
  }

  function mergeSummary(summary: RunSummary): void {
    if (!run || summary.id !== run.id) return;
    run = { ...run, ...summary, config: run.config };
    latest = Math.max(latest, summary.generation_count - 1);
  }

  live.subscribe((msg) => {
    if (!runId || !visible) return; // a hidden grid reloads everything when it opens again
    if (msg.type === 'generation' && msg.run_id === runId) {
      const before = latest;
      mergeSummary(msg.run);
      latest = Math.max(latest, msg.stats.generation);
      charts.put(msg.stats);
      genCache.delete(`${runId}/${msg.stats.generation}`);
      renderRun(); // the champion and the benchmark trend too
      renderNav();
      if (viewed === null && latest !== before) void refreshLatest();
      else if (viewed === null && msg.stats.generation === latest) void refreshLatest();
      renderEmpty();
    } else if ((msg.type === 'runs' || msg.type === 'hello') && run) {
      const summary = msg.runs.find((r) => r.id === runId);
      if (summary) {
        const grew = summary.generation_count - 1 > latest;
        mergeSummary(summary);
        renderRun();
        renderNav();
        if (grew && viewed === null) void refreshLatest();
      }
    }
  });
  live.onState((connected) => {
    if (connected) void resync();
  });
  store.onJob((j) => {
    if (!runId) return;
    const before = job;
    job = store.jobFor(runId);
    if (j && j.run_id === runId && (j.state === 'failed' || j.state === 'stopped')) {
      if (j.state === 'failed') toast(`Job failed: ${j.error ?? 'unknown error'}`);
      else toast(`Stopped after ${j.done} of ${j.total} generation${j.total === 1 ? '' : 's'}`, 'info', 3000);
    }
    renderControls();
    renderEmpty();
    if (before && !job) void resync();
  });

  document.addEventListener('keydown', (ev) => {
    if (!visible || anyModalOpen() || isTyping(ev)) return;
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
      return runId;
    },
    open(id: string, g: number | null) {
      const wasVisible = visible;
      visible = true;
      el.classList.remove('hidden');
      if (id !== runId || !wasVisible) {
        void loadRun(id, g);
      } else {
        setView(g);
      }
    },
    hide() {
      visible = false;
      el.classList.add('hidden');
      hideTooltip();
    },
  };
}
