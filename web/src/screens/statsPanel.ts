/** The grid screen's left panel: the run's name and status, the generation navigator with history mode
 * and fork, the shown generation's stats, the notable creatures and the benchmark trend. It draws
 * `GridState`; what its buttons do is the screen's (`StatsActions`). */
import { api } from '../api';
import { fmt, h } from '../dom';
import { bodyFromCard } from '../render/body';
import { drawThumbnail } from '../render/thumbnails';
import { benchmarkTrend, championText, fitnessText, trendText } from '../scores';
import { toast } from '../toast';
import type { CreatureCard, GenerationDetail } from '../types';
import type { Charts } from '../widgets/charts';
import { statusBadge, updateStatusBadge } from '../widgets/statusBadge';
import { cardTooltip, hideTooltip, moveTooltip, showTooltip } from '../widgets/tooltip';
import type { GridState } from './gridState';

export interface StatsActions {
  step(delta: number): void;
  /** View generation `g`, or the latest with null. */
  view(g: number | null): void;
  fork(): void;
  openReplay(card: CreatureCard, generation: number): void;
  card(generation: number, creatureId: string): Promise<CreatureCard | null>;
}

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`;
}

/** A small card of a notable creature (the longest survivor, the champion) with its thumbnail. */
interface Mini {
  el: HTMLElement;
  canvas: HTMLCanvasElement;
  title: HTMLElement;
  sub: HTMLElement;
  card: CreatureCard | null;
  /** run/generation/creature it shows; '' when none. */
  key: string;
}

function mini(testid: string, cls: string): Mini {
  const canvas = h('canvas', { width: 96, height: 96, class: 'mini-thumb' });
  const title = h('div', { class: 'mini-title' });
  const sub = h('div', { class: 'mini-sub mono' });
  const el = h('div', { class: `mini-card ${cls} hidden`, testid, tabindex: 0 }, canvas, h('div', { class: 'mini-text' }, title, sub));
  return { el, canvas, title, sub, card: null, key: '' };
}

export class StatsPanel {
  readonly el: HTMLElement;
  readonly forkBtn = h('button', { class: 'btn small accent hidden', testid: 'fork' }, 'Fork');
  private readonly nameInput = h('input', { class: 'run-title', testid: 'grid-run-name', placeholder: 'Name this run…', maxlength: '120' });
  private readonly badge = statusBadge({ status: 'created', live: false });
  private readonly runIdEl = h('span', { class: 'run-id mono', testid: 'grid-run-id' });
  private readonly prevBtn = h('button', { class: 'icon-btn nav', testid: 'gen-prev', title: 'Previous generation (←)' }, '‹');
  private readonly nextBtn = h('button', { class: 'icon-btn nav', testid: 'gen-next', title: 'Next generation (→)' }, '›');
  private readonly genLabel = h('button', { class: 'gen-label', testid: 'gen-label', title: 'Jump to a generation' });
  private readonly latestLink = h('button', { class: 'gen-latest link', testid: 'gen-latest', title: 'Back to the latest generation' });
  private readonly jumpInput = h('input', { type: 'number', class: 'gen-jump hidden', testid: 'gen-jump-input', min: '0', step: '1' });
  private readonly historyBadge = h('span', { class: 'history-badge hidden', testid: 'history-badge' }, 'VIEWING HISTORY');
  private readonly statCreatures = h('span', { class: 'mono', testid: 'stat-creatures' }, '-');
  private readonly statBest = h('span', { class: 'mono success', testid: 'stat-best' }, '-');
  private readonly statAvg = h('span', { class: 'mono accent', testid: 'stat-avg' }, '-');
  private readonly statWorst = h('span', { class: 'mono danger', testid: 'stat-worst' }, '-');
  private readonly statBenchmark = h('span', { class: 'mono benchmark', testid: 'stat-benchmark' }, '-');
  private readonly statBenchmarkPellets = h('span', { class: 'mono benchmark', testid: 'stat-benchmark-pellets' }, '-');
  private readonly benchmarkRows: HTMLElement[];
  private readonly statExtra = h('div', { class: 'muted small', testid: 'stat-extra' });
  private readonly longest = mini('longest-survivor', 'purple');
  private readonly bestEver = mini('best-ever', 'gold');
  private readonly championEl = h('div', { class: 'mini-sub champion-line hidden', testid: 'champion' });
  private readonly trendValue = h('span', { class: 'trend-value', testid: 'benchmark-progress' });
  private readonly trendFitness = h('span', { class: 'muted', testid: 'benchmark-progress-fitness' });
  private readonly trendEl: HTMLElement;

  constructor(
    private readonly state: GridState,
    private readonly charts: Charts,
    private readonly actions: StatsActions,
  ) {
    const benchmarkTip = 'This generation’s best on the held-out benchmark layouts (never used for selection)';
    this.benchmarkRows = [
      h('div', { class: 'kv hidden', title: benchmarkTip }, h('span', null, 'Benchmark'), this.statBenchmark),
      h('div', { class: 'kv hidden', title: `${benchmarkTip}: mean pellets per layout` }, h('span', null, 'Benchmark pellets'), this.statBenchmarkPellets),
    ];
    this.bestEver.title.parentElement?.append(this.championEl);
    this.trendEl = h(
      'div',
      { class: 'benchmark-trend hidden' },
      h('div', { class: 'trend-label' }, 'Benchmark pellets'),
      this.trendValue,
      this.trendFitness,
    );
    this.el = h(
      'section',
      { class: 'panel stats-panel', testid: 'stats-panel' },
      h('div', { class: 'title-row' }, this.nameInput),
      h('div', { class: 'sub-row' }, this.badge, this.runIdEl),
      h(
        'div',
        { class: 'gen-nav' },
        this.prevBtn,
        h('div', { class: 'gen-center' }, this.genLabel, this.jumpInput, this.latestLink),
        this.nextBtn,
      ),
      h('div', { class: 'history-row' }, this.historyBadge, this.forkBtn),
      h(
        'div',
        { class: 'stat-rows' },
        h('div', { class: 'kv' }, h('span', null, 'Creatures'), this.statCreatures),
        h('div', { class: 'kv' }, h('span', null, 'Best'), this.statBest),
        h('div', { class: 'kv' }, h('span', null, 'Average'), this.statAvg),
        h('div', { class: 'kv' }, h('span', null, 'Worst'), this.statWorst),
        ...this.benchmarkRows,
        this.statExtra,
      ),
      this.longest.el,
      this.bestEver.el,
      this.trendEl,
    );
    this.prevBtn.addEventListener('click', () => actions.step(-1));
    this.nextBtn.addEventListener('click', () => actions.step(1));
    this.latestLink.addEventListener('click', () => actions.view(null));
    this.forkBtn.addEventListener('click', () => actions.fork());
    this.wireName();
    this.wireJump();
    this.wireMinis();
  }

  /** A new run is loading: no stats, no minis. */
  reset(): void {
    for (const m of [this.longest, this.bestEver]) {
      m.key = '';
      m.el.classList.add('hidden');
    }
    this.renderStats(null);
    this.renderBenchmark();
    this.nameInput.value = '';
  }

  renderStats(detail: GenerationDetail | null): void {
    const st = detail?.stats;
    this.statCreatures.textContent = detail ? String(detail.creatures.length) : '-';
    this.statBest.textContent = fmt(st?.best);
    this.statAvg.textContent = fmt(st?.average);
    this.statWorst.textContent = fmt(st?.worst);
    const scored = st?.benchmark_fitness != null && st.benchmark_pellets != null;
    for (const row of this.benchmarkRows) row.classList.toggle('hidden', !scored);
    this.statBenchmark.textContent = scored ? fmt(st.benchmark_fitness) : '-';
    this.statBenchmarkPellets.textContent = scored ? fmt(st.benchmark_pellets, 2) : '-';
    this.statExtra.textContent = st
      ? `${st.disqualified} disqualified · ${st.pellets} pellets · ${fmt(st.avg_nodes)} nodes avg · ${seconds(st.sim_seconds)} sim`
      : '';
  }

  renderNav(): void {
    const { latest, viewedGen: g, inHistory: history } = this.state;
    if (latest < 0) {
      this.genLabel.textContent = 'Generation –';
      this.latestLink.classList.add('hidden');
    } else if (history) {
      this.genLabel.textContent = `Generation ${g}`;
      this.latestLink.textContent = `/ ${latest}`;
      this.latestLink.classList.remove('hidden');
    } else {
      this.genLabel.textContent = `Generation ${latest}`;
      this.latestLink.classList.add('hidden');
    }
    this.prevBtn.disabled = latest < 0 || g <= 0;
    this.nextBtn.disabled = !history;
    this.historyBadge.classList.toggle('hidden', !history);
    this.forkBtn.classList.toggle('hidden', !history);
    this.forkBtn.textContent = `Fork from Gen ${g}`;
  }

  /** The run's name, status, id, notable creatures and benchmark trend. */
  renderRun(): void {
    const run = this.state.run;
    if (!run) return;
    if (document.activeElement !== this.nameInput) this.nameInput.value = run.name;
    updateStatusBadge(this.badge, run);
    this.runIdEl.textContent = run.id;
    this.runIdEl.title = run.id;
    this.renderMinis();
    this.renderBenchmark();
  }

  /** The champion (judged on the benchmark) and how the benchmark score changed over the run. */
  renderBenchmark(): void {
    const run = this.state.run;
    const champion = run ? championText(run) : null;
    this.championEl.textContent = champion ?? '';
    this.championEl.classList.toggle('hidden', !champion);
    const trend = benchmarkTrend(this.charts.history);
    this.trendValue.textContent = trend ? trendText(trend) : '';
    this.trendFitness.textContent = trend ? `fitness ${fmt(trend.firstFitness)} → ${fmt(trend.lastFitness)}` : '';
    this.trendEl.title = trend
      ? `Mean over the first and the last ${trend.window} of the ${trend.scored} generations scored on the benchmark`
      : '';
    this.trendEl.classList.toggle('hidden', !trend);
  }

  private renderMinis(): void {
    const r = this.state.run;
    if (!r) return;
    const update = async (
      m: Mini,
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
        const card = await this.actions.card(g, id);
        if (m.key !== key || !card) return;
        m.card = card;
        m.title.textContent = title(card);
        m.sub.textContent = sub(card);
        m.el.classList.remove('hidden');
        m.el.dataset.generation = String(g);
        drawThumbnail(m.canvas, bodyFromCard(card, this.state.stiffnessRange()), card.pose);
      } catch {
        m.key = '';
      }
    };
    void update(
      this.longest,
      r.longest_survivor_id,
      r.longest_generation,
      (c) => `Longest Survivor: ${c.name}`,
      (c) => `${r.longest_streak} gens · ${fitnessText(c)}`,
    );
    void update(
      this.bestEver,
      r.best_creature_id,
      r.best_generation,
      () => (r.best_by_benchmark ? 'Champion (benchmark)' : `Best Ever (Gen ${r.best_generation})`),
      (c) => (r.best_by_benchmark ? `${c.name} · Gen ${r.best_generation}` : `${c.name} · ${fmt(c.fitness)}`),
    );
  }

  private wireMinis(): void {
    for (const m of [this.longest, this.bestEver]) {
      const isLongest = m === this.longest;
      m.el.addEventListener('click', () => {
        const run = this.state.run;
        if (!m.card || !run) return;
        const g = isLongest ? run.longest_generation : run.best_generation;
        if (g !== null) this.actions.openReplay(m.card, g);
      });
      m.el.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') m.el.click();
      });
      m.el.addEventListener('mouseenter', (ev) => {
        const run = this.state.run;
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
  }

  /** Renaming in place: Enter or leaving the field saves, an empty or failed rename puts the name back. */
  private wireName(): void {
    const input = this.nameInput;
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') input.blur();
    });
    input.addEventListener('change', async () => {
      const { run, runId } = this.state;
      if (!run || !runId) return;
      const value = input.value.trim();
      if (!value || value === run.name) {
        input.value = run.name;
        return;
      }
      try {
        const updated = await api.renameRun(runId, value);
        const now = this.state.run;
        if (now && updated.id === now.id) now.name = updated.name;
      } catch {
        input.value = run.name;
      }
    });
  }

  /** Clicking the generation label turns it into a number field: Enter jumps, Escape or leaving cancels. */
  private wireJump(): void {
    const { genLabel, jumpInput } = this;
    genLabel.addEventListener('click', () => {
      const { latest } = this.state;
      if (latest < 0) return;
      jumpInput.max = String(latest);
      jumpInput.value = String(this.state.viewedGen);
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
      const { latest } = this.state;
      const g = Number(jumpInput.value);
      if (Number.isInteger(g) && g >= 0 && g <= latest) this.actions.view(g);
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
  }
}
