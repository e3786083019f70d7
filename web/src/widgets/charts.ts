/**
 * The two uPlot panels of the grid screen: fitness over generations (best, average, the held-out benchmark
 * score when the run has one, worst) and creature types by node count.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from '../dom';
import type { GenerationStats } from '../types';

const TYPE_KEYS = ['2', '3', '4', '5', '6', '7', '8+'];
const TYPE_COLORS = ['#ef4444', '#f97316', '#eab308', '#22c55e', '#06b6d4', '#6366f1', '#a855f7'];
const AXIS = { stroke: '#7a8494', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.1)', width: 1 } };
const CHART_H = 200;
const REDRAW_MIN_MS = 250;
/** Generations are whole numbers: never put a tick between two. */
const GEN_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** Trailing mean over the last `n` entries (partial window at the start), rounded to 0.1. */
export function rollingMean(values: number[], n = 10): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= n) sum -= values[i - n];
    out.push(Math.round((sum / Math.min(i + 1, n)) * 10) / 10);
  }
  return out;
}

/** Percent of the population per node-count bucket 2..7, 8+. */
export function typeShares(stats: GenerationStats): number[] {
  const counts = new Array<number>(TYPE_KEYS.length).fill(0);
  let total = 0;
  for (const [k, v] of Object.entries(stats.node_counts ?? {})) {
    const n = Number(k);
    if (!Number.isFinite(n)) continue;
    const bucket = Math.min(Math.max(n, 2), 8) - 2;
    counts[bucket] += v;
    total += v;
  }
  return counts.map((c) => (total > 0 ? (c / total) * 100 : 0));
}

const fin = (v: number | null | undefined): number | null => (v !== null && v !== undefined && Number.isFinite(v) ? v : null);

const BENCHMARK_COLOR = '#22d3ee';
/** The benchmark curve's dots: always where it has gaps (a generation scored now and then would otherwise
 * be invisible), else only while there is room for them. */
const benchmarkPoints: uPlot.Series.Points.Show = (u, si, idx0, idx1) => {
  const ys = u.data[si];
  let gaps = false;
  for (let i = idx0; i <= idx1 && !gaps; i++) gaps = ys[i] === null;
  return gaps || (idx1 - idx0) * 8 < u.bbox.width / devicePixelRatio;
};

export class Charts {
  readonly fitnessPanel: HTMLElement;
  readonly typesPanel: HTMLElement;
  private readonly fitnessHost: HTMLElement;
  private readonly typesHost: HTMLElement;
  private fitness: uPlot | null = null;
  private types: uPlot | null = null;
  private stats: GenerationStats[] = [];
  /** Whether the fitness chart was built with the benchmark series (a run without scores has none). */
  private fitnessHasBenchmark = false;
  private redrawTimer: number | null = null;
  private lastRedraw = 0;
  private readonly observer: ResizeObserver;
  private typesRaw: number[][] = [];

  constructor() {
    this.fitnessHost = h('div', { class: 'chart-host' });
    this.typesHost = h('div', { class: 'chart-host' });
    this.fitnessPanel = h(
      'section',
      { class: 'panel chart-panel', id: 'fitness-chart', testid: 'fitness-chart' },
      h(
        'div',
        { class: 'panel-head' },
        h(
          'span',
          { title: 'Benchmark: the best of each generation’s top creatures, scored on held-out pellet layouts never used for selection' },
          'Fitness over generations',
        ),
        h('button', { class: 'icon-btn', title: 'Hide', testid: 'fitness-chart-close', onclick: () => this.fitnessPanel.classList.add('hidden') }, '×'),
      ),
      this.fitnessHost,
    );
    this.typesPanel = h(
      'section',
      { class: 'panel chart-panel', id: 'types-chart', testid: 'types-chart' },
      h(
        'div',
        { class: 'panel-head' },
        h('span', null, 'Creature types (by node count)'),
        h('button', { class: 'icon-btn', title: 'Hide', testid: 'types-chart-close', onclick: () => this.typesPanel.classList.add('hidden') }, '×'),
      ),
      this.typesHost,
    );
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.fitnessHost);
    this.observer.observe(this.typesHost);
  }

  /** True when both panels are shown. */
  get visible(): boolean {
    return !this.fitnessPanel.classList.contains('hidden') && !this.typesPanel.classList.contains('hidden');
  }

  /** Graph button: hide both if both are visible, otherwise show both. */
  toggle(): void {
    const show = !this.visible;
    this.fitnessPanel.classList.toggle('hidden', !show);
    this.typesPanel.classList.toggle('hidden', !show);
    if (show) requestAnimationFrame(() => this.resize());
  }

  /** The statistics shown, in generation order. */
  get history(): readonly GenerationStats[] {
    return this.stats;
  }

  setData(stats: GenerationStats[]): void {
    this.stats = [...stats].sort((a, b) => a.generation - b.generation);
    this.scheduleRedraw();
  }

  /** Add (or replace) one generation's stats. */
  put(stat: GenerationStats): void {
    const last = this.stats[this.stats.length - 1];
    if (!last || stat.generation > last.generation) {
      this.stats.push(stat); // the usual case: the newest generation
    } else {
      const i = this.stats.findIndex((s) => s.generation === stat.generation);
      if (i >= 0) this.stats[i] = stat;
      else {
        this.stats.push(stat);
        this.stats.sort((a, b) => a.generation - b.generation);
      }
    }
    this.scheduleRedraw();
  }

  /** Redraw at most a few times a second: a fast run announces dozens of generations a second, and
   * redrawing both charts for each one would starve the page. */
  private scheduleRedraw(): void {
    if (this.redrawTimer !== null) return;
    const wait = Math.max(0, this.lastRedraw + REDRAW_MIN_MS - performance.now());
    this.redrawTimer = window.setTimeout(() => {
      this.redrawTimer = null;
      this.lastRedraw = performance.now();
      requestAnimationFrame(() => this.redraw());
    }, wait);
  }

  private width(host: HTMLElement): number {
    return Math.max(200, host.clientWidth || 360);
  }

  private resize(): void {
    if (this.fitness && this.fitnessHost.clientWidth) this.fitness.setSize({ width: this.width(this.fitnessHost), height: CHART_H });
    if (this.types && this.typesHost.clientWidth) this.types.setSize({ width: this.width(this.typesHost), height: CHART_H });
  }

  private redraw(): void {
    const xs = this.stats.map((s) => s.generation);
    const avg = this.stats.map((s) => s.average);
    const benchmark = this.stats.map((s) => fin(s.benchmark_fitness));
    const hasBenchmark = benchmark.some((v) => v !== null);
    const fitnessData: uPlot.AlignedData = [
      xs,
      this.stats.map((s) => fin(s.best)),
      ...(hasBenchmark ? [benchmark] : []),
      this.stats.map((s) => fin(s.average)),
      rollingMean(avg.map((v) => (Number.isFinite(v) ? v : 0))),
      this.stats.map((s) => fin(s.worst)),
    ];
    if (this.fitness && hasBenchmark !== this.fitnessHasBenchmark) {
      this.fitness.destroy(); // another run: the series differ
      this.fitness = null;
    }
    const shares = this.stats.map(typeShares);
    const raw = TYPE_KEYS.map((_, k) => shares.map((row) => row[k]));
    const stacked = raw.map((_, k) => shares.map((row) => row.slice(0, k + 1).reduce((a, b) => a + b, 0)));
    const typesData: uPlot.AlignedData = [xs, ...stacked];
    this.typesRaw = raw;

    if (!this.fitness) {
      this.fitnessHasBenchmark = hasBenchmark;
      const benchmarkSeries: uPlot.Series = {
        label: 'Benchmark',
        stroke: BENCHMARK_COLOR,
        width: 2,
        dash: [6, 3],
        spanGaps: false,
        points: { show: benchmarkPoints, size: 5, fill: BENCHMARK_COLOR },
        value: (_u, v) => (v === null || v === undefined ? 'not scored' : String(+v.toFixed(3))),
      };
      this.fitness = new uPlot(
        {
          width: this.width(this.fitnessHost),
          height: CHART_H,
          legend: { show: true },
          cursor: { drag: { x: false, y: false } },
          scales: {
            x: { time: false },
            y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
          },
          axes: [{ ...AXIS, label: 'Generation', labelSize: 18, font: '11px system-ui', labelFont: '11px system-ui', incrs: GEN_INCRS }, { ...AXIS, size: 44, font: '11px system-ui' }],
          series: [
            { label: 'Gen' },
            { label: 'Best', stroke: '#10b981', width: 2, points: { size: 4 } },
            ...(hasBenchmark ? [benchmarkSeries] : []),
            { label: 'Average', stroke: '#6366f1', width: 1, points: { size: 3 } },
            { label: 'Avg (10-gen)', stroke: '#f59e0b', width: 3, points: { show: false } },
            { label: 'Worst', stroke: '#ef4444', width: 1, points: { size: 3 } },
          ],
        },
        fitnessData,
        this.fitnessHost,
      );
    } else {
      this.fitness.setData(fitnessData);
    }

    if (!this.types) {
      this.types = new uPlot(
        {
          width: this.width(this.typesHost),
          height: CHART_H,
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false }, y: { range: [0, 100] } },
          axes: [
            { ...AXIS, label: 'Generation', labelSize: 18, font: '11px system-ui', labelFont: '11px system-ui', incrs: GEN_INCRS },
            { ...AXIS, size: 44, font: '11px system-ui', values: (_u, ticks) => ticks.map((t) => `${t}%`) },
          ],
          series: [
            { label: 'Gen' },
            ...TYPE_KEYS.map((k, i) => ({
              label: `${k} nodes`,
              stroke: TYPE_COLORS[i],
              fill: `${TYPE_COLORS[i]}b3`,
              width: 1,
              points: { show: false },
              value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
                idx === null || idx === undefined ? '-' : `${(this.typesRaw[i]?.[idx] ?? 0).toFixed(1)}%`,
            })),
          ],
          bands: TYPE_KEYS.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })),
        },
        typesData,
        this.typesHost,
      );
    } else {
      this.types.setData(typesData);
    }
  }
}
