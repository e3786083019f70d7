/** The grid screen's right panel, the run's settings, and the controls above the cards that queue
 * server jobs. They draw `GridState`; what the buttons do is the screen's (`ControlActions`). */
import { clear, h } from '../dom';
import type { GridState } from './gridState';

export interface ControlActions {
  advance(generations: number): void;
  stop(): void;
  toggleCharts(): void;
  menu(): void;
}

/** The run's configuration, as a list of settings. */
export class SettingsPanel {
  private readonly body = h('div', { class: 'settings-body', testid: 'settings' });
  readonly el = h('section', { class: 'panel settings-panel' }, h('div', { class: 'panel-head' }, h('span', null, 'Settings')), this.body);

  constructor(private readonly state: GridState) {}

  render(): void {
    const run = this.state.run;
    if (!run) return;
    const c = run.config;
    const kv = (k: string, v: string, testid?: string): HTMLElement =>
      h('div', { class: 'kv' }, h('span', null, k), h('span', { class: 'mono', testid }, v));
    const fw = c.sim.fitness;
    const b = c.benchmark;
    const wasOpen = this.body.querySelector('details')?.open ?? false;
    clear(this.body);
    const rows: (HTMLElement | null)[] = [
      kv('Gravity', `${c.sim.gravity}`, 'setting-gravity'),
      kv('Mutation', `${Math.round(c.mutation_rate * 100)}%`, 'setting-mutation'),
      kv('Max freq', `${c.sim.max_allowed_frequency} Hz`),
      kv('Duration', `${c.sim.duration} s`),
      kv('Max nodes', `${c.constraints.max_nodes}`),
      kv('Max muscles', `${c.constraints.max_muscles}`),
      kv('Max size', `${c.constraints.max_size}`),
      kv('Senses', c.sim.sensor_frame, 'setting-senses'),
      kv('Population', `${c.population_size}`),
      kv('Trials', `${c.trials} layout${c.trials === 1 ? '' : 's'}`, 'setting-trials'),
      kv(
        'Benchmark',
        b.enabled ? `${b.layouts} layouts · top ${b.top}${b.every > 1 ? ` · every ${b.every}` : ''}` : 'off',
        'setting-benchmark',
      ),
      kv('Neural', c.sim.neural_mode === 'off' ? 'off' : `${c.sim.neural_mode} · ${c.neural_hidden_size} ${c.neural_activation}`),
      kv('Frames', run.turbo ? 'turbo (re-simulated)' : 'stored'),
      // seeds go up to 2**63 - 1; JSON numbers past 2**53 arrive rounded
      kv('Seed', Number.isSafeInteger(run.seed) ? String(run.seed) : `≈${run.seed.toPrecision(6)}`),
      run.parent_run_id ? kv('Forked from', `${run.parent_run_id} @ ${run.fork_generation}`) : null,
      h(
        'details',
        { class: 'weights', testid: 'settings-weights', open: wasOpen },
        h('summary', null, 'Fitness weights'),
        kv('Pellet', `${fw.pellet}`),
        kv('Progress', `${fw.progress}`),
        kv('Regression', `${fw.regression}`),
        kv('Movement', `${fw.movement}`),
      ),
    ];
    this.body.append(...rows.filter((r): r is HTMLElement => r !== null));
  }
}

/** The buttons that queue jobs on the run (next generation, 1x / 10x / 100x, stop), the charts toggle and
 * the way back to the menu; with the progress of the run's job. */
export class Controls {
  readonly el: HTMLElement;
  readonly progress: HTMLElement;
  readonly graphBtn = h('button', { class: 'btn', testid: 'toggle-charts' }, 'Graph');
  private readonly nextGenBtn = h('button', { class: 'btn primary', testid: 'next-generation' }, 'Next generation');
  private readonly autoBtns = [1, 10, 100].map((n) =>
    h('button', { class: 'btn', testid: `advance-${n}`, title: `Evolve ${n} generation${n > 1 ? 's' : ''}` }, `${n}x`),
  );
  private readonly stopBtn = h('button', { class: 'btn danger', testid: 'stop' }, 'Stop');
  private readonly progressFill = h('div', { class: 'bar-fill' });
  private readonly progressText = h('span', { class: 'progress-text', testid: 'job-progress-text' });

  constructor(
    private readonly state: GridState,
    actions: ControlActions,
  ) {
    this.nextGenBtn.addEventListener('click', () => actions.advance(1));
    [1, 10, 100].forEach((n, i) => this.autoBtns[i].addEventListener('click', () => actions.advance(n)));
    this.stopBtn.addEventListener('click', () => actions.stop());
    this.graphBtn.addEventListener('click', () => actions.toggleCharts());
    const menuBtn = h('button', { class: 'btn ghost', testid: 'menu', onclick: () => actions.menu() }, 'Menu');
    this.progress = h('div', { class: 'job-progress hidden', testid: 'job-progress' }, h('div', { class: 'bar' }, this.progressFill), this.progressText);
    this.el = h(
      'div',
      { class: 'controls', testid: 'controls' },
      this.nextGenBtn,
      h('div', { class: 'seg' }, this.autoBtns),
      this.stopBtn,
      h('span', { class: 'spacer' }),
      this.graphBtn,
      menuBtn,
    );
  }

  /** While an advance is being asked for: no second one. */
  holdAdvance(): void {
    for (const b of [this.nextGenBtn, ...this.autoBtns]) b.disabled = true;
  }

  holdStop(): void {
    this.stopBtn.disabled = true;
  }

  render(): void {
    const { job, run, inHistory } = this.state;
    const busy = !!job;
    const writer = !!run?.live && !busy; // another process (the CLI) is evolving it
    const blocked = busy || writer || inHistory || !run;
    for (const b of [this.nextGenBtn, ...this.autoBtns]) {
      b.disabled = blocked;
      b.title = inHistory
        ? 'Return to the latest generation to continue'
        : writer
          ? 'Another process is evolving this run'
          : busy
            ? 'A job is running on this run'
            : b.title;
    }
    // a run `evolab evolve` is writing can be stopped too: the server asks that process to stop cleanly
    this.stopBtn.disabled = !busy && !writer && !(run?.status === 'running' && !run.live);
    this.stopBtn.title = writer ? 'Ask the evolab evolve process to stop after this generation' : 'Stop after this generation';
    if (job) {
      this.progress.classList.remove('hidden');
      const k = Math.min(job.done + 1, job.total);
      this.progressText.textContent = job.state === 'queued' ? 'Queued…' : `Generation ${k} of ${job.total}…`;
      this.progressFill.style.width = `${job.total > 0 ? (job.done / job.total) * 100 : 0}%`;
      this.progressText.dataset.done = String(job.done);
      this.progressText.dataset.total = String(job.total);
    } else {
      this.progress.classList.add('hidden');
    }
  }
}
