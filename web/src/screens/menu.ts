/** Menu screen: run settings (mapped onto EvolutionConfig overrides), presets, preview, start / load. */
import { ApiError, api } from '../api';
import { clear, h } from '../dom';
import { MenuPreview, type PreviewParams } from '../render/preview';
import { store } from '../store';
import type { Activation, DeepPartial, EvolutionConfig, Preset } from '../types';

export interface MenuValues {
  preset: string;
  gravity: number;
  mutationPct: number;
  maxFrequency: number;
  duration: number;
  maxNodes: number;
  maxMuscles: number;
  maxSize: number;
  population: number;
  trials: number;
  useMutation: boolean;
  useCrossover: boolean;
  neuralEnabled: boolean;
  neuralMode: 'hybrid' | 'pure';
  hiddenSize: number;
  activation: Activation;
  weightMutPct: number;
  weightMutMag: number;
  fitness: { pellet: number; progress: number; regression: number; movement: number };
  turbo: boolean;
  name: string;
  seed: string;
}

/** The default preset's values (evolab/presets/default.toml over evolab/config.py's defaults). */
export const DEFAULT_FITNESS = { pellet: 100, progress: 80, regression: 20, movement: 25 };
export const DEFAULTS: MenuValues = {
  preset: 'default',
  gravity: -9.8,
  mutationPct: 10,
  maxFrequency: 3,
  duration: 10,
  maxNodes: 8,
  maxMuscles: 15,
  maxSize: 1.5,
  population: 100,
  trials: 4,
  useMutation: true,
  useCrossover: true,
  neuralEnabled: false,
  neuralMode: 'hybrid',
  hiddenSize: 8,
  activation: 'tanh',
  weightMutPct: 10,
  weightMutMag: 0.3,
  fitness: { ...DEFAULT_FITNESS },
  turbo: false,
  name: '',
  seed: '',
};

const STORAGE_KEY = 'evolab.menu.v2'; // v2: trials and node size (v1 values would pin the old ones)
const clampTo = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Menu values described by a (partial) config, starting from `base`. */
export function valuesFromConfig(cfg: DeepPartial<EvolutionConfig>, base: MenuValues): MenuValues {
  const v: MenuValues = { ...base, fitness: { ...base.fitness } };
  const sim = cfg.sim ?? {};
  const con = cfg.constraints ?? {};
  if (sim.gravity !== undefined) v.gravity = sim.gravity;
  if (cfg.mutation_rate !== undefined) v.mutationPct = Math.round(cfg.mutation_rate * 100);
  if (sim.max_allowed_frequency !== undefined) v.maxFrequency = sim.max_allowed_frequency;
  else if (con.max_frequency !== undefined) v.maxFrequency = con.max_frequency;
  if (sim.duration !== undefined) v.duration = sim.duration;
  if (con.max_nodes !== undefined) v.maxNodes = con.max_nodes;
  if (con.max_muscles !== undefined) v.maxMuscles = con.max_muscles;
  if (con.max_size !== undefined) v.maxSize = con.max_size;
  if (cfg.population_size !== undefined) v.population = cfg.population_size;
  if (cfg.trials !== undefined) v.trials = cfg.trials;
  if (cfg.use_mutation !== undefined) v.useMutation = cfg.use_mutation;
  if (cfg.use_crossover !== undefined) v.useCrossover = cfg.use_crossover;
  if (sim.neural_mode !== undefined) {
    v.neuralEnabled = sim.neural_mode !== 'off';
    if (sim.neural_mode !== 'off') v.neuralMode = sim.neural_mode;
  }
  if (cfg.neural_hidden_size !== undefined) v.hiddenSize = cfg.neural_hidden_size;
  if (cfg.neural_activation !== undefined) v.activation = cfg.neural_activation;
  if (cfg.weight_mutation_rate !== undefined) v.weightMutPct = Math.round(cfg.weight_mutation_rate * 100);
  if (cfg.weight_mutation_magnitude !== undefined) v.weightMutMag = cfg.weight_mutation_magnitude;
  const fw = sim.fitness ?? {};
  for (const k of ['pellet', 'progress', 'regression', 'movement'] as const) {
    const x = fw[k];
    if (x !== undefined) v.fitness[k] = x;
  }
  return v;
}

/** The `config` overrides of POST /api/runs for these menu values. */
export function configFromValues(v: MenuValues): DeepPartial<EvolutionConfig> {
  return {
    population_size: v.population,
    trials: v.trials,
    mutation_rate: v.mutationPct / 100,
    use_mutation: v.useMutation,
    use_crossover: v.useCrossover,
    neural_hidden_size: v.hiddenSize,
    neural_activation: v.activation,
    weight_mutation_rate: v.weightMutPct / 100,
    weight_mutation_magnitude: v.weightMutMag,
    constraints: { max_nodes: v.maxNodes, max_muscles: v.maxMuscles, max_size: v.maxSize, max_frequency: v.maxFrequency },
    sim: {
      gravity: v.gravity,
      duration: v.duration,
      max_allowed_frequency: v.maxFrequency,
      neural_mode: v.neuralEnabled ? v.neuralMode : 'off',
      fitness: { ...v.fitness },
    },
  };
}

function loadSaved(): MenuValues {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw) {
      const saved = JSON.parse(raw) as Partial<MenuValues>;
      return { ...DEFAULTS, ...saved, fitness: { ...DEFAULTS.fitness, ...(saved.fitness ?? {}) } };
    }
  } catch {
    /* ignore a corrupt entry */
  }
  return { ...DEFAULTS, fitness: { ...DEFAULTS.fitness } };
}

interface Slider {
  row: HTMLElement;
  get(): number;
  set(v: number): void;
}

function slider(opts: {
  label: string;
  testid: string;
  min: number;
  max: number;
  step: number;
  format: (v: number) => string;
  onInput: () => void;
  onChange?: () => void;
  hint?: string;
}): Slider {
  const decimals = (String(opts.step).split('.')[1] ?? '').length;
  const range = h('input', {
    type: 'range',
    min: String(opts.min),
    max: String(opts.max),
    step: String(opts.step),
    testid: opts.testid,
    'aria-label': opts.label,
  });
  const num = h('input', {
    type: 'number',
    class: 'num',
    min: String(opts.min),
    max: String(opts.max),
    step: String(opts.step),
    testid: `${opts.testid}-input`,
    'aria-label': `${opts.label} value`,
  });
  const shown = h('span', { class: 'slider-value mono' });
  const parse = (s: string): number => Number.parseFloat(s);
  const sync = (v: number): void => {
    const fixed = Number(v.toFixed(decimals));
    range.value = String(fixed);
    if (document.activeElement !== num) num.value = String(fixed);
    shown.textContent = opts.format(fixed);
  };
  range.addEventListener('input', () => {
    sync(parse(range.value));
    opts.onInput();
  });
  range.addEventListener('change', () => opts.onChange?.());
  num.addEventListener('change', () => {
    const v = parse(num.value);
    if (!Number.isFinite(v)) return sync(parse(range.value));
    const snapped = clampTo(Math.round((v - opts.min) / opts.step) * opts.step + opts.min, opts.min, opts.max);
    num.value = String(Number(snapped.toFixed(decimals)));
    sync(snapped);
    opts.onInput();
    opts.onChange?.();
  });
  const row = h(
    'label',
    { class: 'slider', title: opts.hint ?? '' },
    h('span', { class: 'slider-label' }, opts.label, ' ', shown),
    h('span', { class: 'slider-inputs' }, range, num),
  );
  return {
    row,
    get: () => Number(parse(range.value).toFixed(decimals)),
    set: (v: number) => sync(clampTo(v, opts.min, opts.max)),
  };
}

function checkbox(label: string, testid: string, onChange: () => void): { row: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { type: 'checkbox', testid });
  input.addEventListener('change', onChange);
  return { row: h('label', { class: 'check' }, input, h('span', null, label)), input };
}

export interface MenuScreen {
  el: HTMLElement;
  show(): void;
  hide(): void;
}

export function createMenu(navigate: (hash: string) => void, openLoad: () => void): MenuScreen {
  let values = loadSaved();
  let presets: Preset[] = [];
  const save = (): void => {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(values));
    } catch {
      /* storage full or disabled */
    }
  };
  const readAll = (): void => {
    values = {
      ...values,
      preset: presetSelect.value || values.preset,
      gravity: s.gravity.get(),
      mutationPct: s.mutation.get(),
      maxFrequency: s.maxFrequency.get(),
      duration: s.duration.get(),
      maxNodes: s.maxNodes.get(),
      maxMuscles: s.maxMuscles.get(),
      maxSize: s.maxSize.get(),
      population: s.population.get(),
      trials: s.trials.get(),
      useMutation: mutationBox.input.checked,
      useCrossover: crossoverBox.input.checked,
      neuralEnabled: neuralBox.input.checked,
      neuralMode: neuralModeSelect.value as 'hybrid' | 'pure',
      hiddenSize: s.hidden.get(),
      activation: activationSelect.value as Activation,
      weightMutPct: s.weightRate.get(),
      weightMutMag: s.weightMag.get(),
      fitness: {
        pellet: s.pellet.get(),
        progress: s.progress.get(),
        regression: s.regression.get(),
        movement: s.movement.get(),
      },
      turbo: turboBox.input.checked,
      name: nameInput.value,
      seed: seedInput.value.trim(),
    };
    save();
  };
  const changed = (): void => {
    readAll();
    errorLine.textContent = '';
    neuralOptions.classList.toggle('hidden', !values.neuralEnabled);
    preview?.update(previewParams());
  };
  const previewParams = (): PreviewParams => ({
    maxNodes: values.maxNodes,
    maxMuscles: values.maxMuscles,
    maxFrequency: values.maxFrequency,
    gravity: values.gravity,
  });

  const s = {
    gravity: slider({ label: 'Gravity', testid: 'menu-gravity', min: -30, max: -5, step: 0.1, format: (v) => `${v.toFixed(1)} m/s²`, onInput: changed }),
    mutation: slider({ label: 'Mutation Rate', testid: 'menu-mutation', min: 5, max: 80, step: 1, format: (v) => `${v}%`, onInput: changed }),
    maxFrequency: slider({
      label: 'Max Frequency',
      testid: 'menu-max-frequency',
      min: 1,
      max: 10,
      step: 0.5,
      format: (v) => `${v.toFixed(1)} Hz`,
      onInput: changed,
      onChange: () => preview?.update(previewParams(), true),
      hint: 'Muscles faster than this disqualify a creature; also the fastest frequency a new gene gets',
    }),
    duration: slider({ label: 'Sim Duration', testid: 'menu-duration', min: 3, max: 20, step: 1, format: (v) => `${v} s`, onInput: changed }),
    maxNodes: slider({ label: 'Max Nodes', testid: 'menu-max-nodes', min: 2, max: 15, step: 1, format: (v) => `${v}`, onInput: changed }),
    maxMuscles: slider({ label: 'Max Muscles', testid: 'menu-max-muscles', min: 1, max: 30, step: 1, format: (v) => `${v}`, onInput: changed }),
    maxSize: slider({
      label: 'Max Node Size',
      testid: 'menu-max-size',
      min: 0.4,
      max: 2,
      step: 0.1,
      format: (v) => v.toFixed(1),
      onInput: changed,
      hint: 'Largest node diameter: bigger nodes reach the pellets, which hang 0.4 higher each time',
    }),
    population: slider({ label: 'Population', testid: 'menu-population', min: 10, max: 1000, step: 10, format: (v) => `${v}`, onInput: changed }),
    trials: slider({
      label: 'Trials',
      testid: 'menu-trials',
      min: 1,
      max: 16,
      step: 1,
      format: (v) => `${v} layout${v === 1 ? '' : 's'}`,
      onInput: changed,
      hint: 'Pellet layouts each creature is judged on per generation; its fitness is the mean',
    }),
    hidden: slider({ label: 'Hidden Size', testid: 'menu-hidden-size', min: 4, max: 32, step: 4, format: (v) => `${v}`, onInput: changed }),
    weightRate: slider({ label: 'Weight Mut. Rate', testid: 'menu-weight-rate', min: 1, max: 50, step: 1, format: (v) => `${v}%`, onInput: changed }),
    weightMag: slider({ label: 'Weight Mut. Mag', testid: 'menu-weight-magnitude', min: 0.1, max: 1, step: 0.1, format: (v) => v.toFixed(1), onInput: changed }),
    pellet: slider({ label: 'Pellet', testid: 'menu-fitness-pellet', min: 0, max: 300, step: 5, format: (v) => `${v}`, onInput: changed, hint: 'Points per collected pellet' }),
    progress: slider({ label: 'Progress', testid: 'menu-fitness-progress', min: 0, max: 200, step: 5, format: (v) => `${v}`, onInput: changed, hint: 'Points for closing the distance to the active pellet' }),
    regression: slider({ label: 'Regression', testid: 'menu-fitness-regression', min: 0, max: 100, step: 1, format: (v) => `${v}`, onInput: changed, hint: 'Penalty for moving away from the pellet' }),
    movement: slider({ label: 'Movement', testid: 'menu-fitness-movement', min: 0, max: 100, step: 1, format: (v) => `${v}`, onInput: changed, hint: 'Points for moving at all' }),
  };

  const mutationBox = checkbox('Mutation', 'menu-use-mutation', () => {
    if (!mutationBox.input.checked && !crossoverBox.input.checked) crossoverBox.input.checked = true;
    changed();
  });
  const crossoverBox = checkbox('Crossover', 'menu-use-crossover', () => {
    if (!mutationBox.input.checked && !crossoverBox.input.checked) mutationBox.input.checked = true;
    changed();
  });
  const turboBox = checkbox('Turbo (store no frames; replays are re-simulated)', 'menu-turbo', changed);
  const neuralBox = checkbox('Enable neural network', 'menu-neural', changed);
  const neuralModeSelect = h(
    'select',
    { testid: 'menu-neural-mode', onchange: changed },
    h('option', { value: 'hybrid', title: 'The network modulates each muscle oscillator' }, 'Hybrid'),
    h('option', { value: 'pure', title: 'The network alone drives the muscles' }, 'Pure'),
  );
  const activationSelect = h(
    'select',
    { testid: 'menu-activation', onchange: changed },
    h('option', { value: 'tanh' }, 'tanh'),
    h('option', { value: 'relu' }, 'ReLU'),
    h('option', { value: 'sigmoid' }, 'sigmoid'),
  );
  const neuralOptions = h(
    'div',
    { class: 'neural-options' },
    h('label', { class: 'field' }, h('span', null, 'Mode (hybrid modulates the oscillator)'), neuralModeSelect),
    s.hidden.row,
    h('label', { class: 'field' }, h('span', null, 'Activation'), activationSelect),
    s.weightRate.row,
    s.weightMag.row,
  );
  const nameInput = h('input', { type: 'text', placeholder: 'Name this run… (optional)', testid: 'menu-name', maxlength: '120' });
  nameInput.addEventListener('input', changed);
  const seedInput = h('input', { type: 'number', placeholder: 'random', testid: 'menu-seed', step: '1', min: '0' });
  seedInput.addEventListener('input', changed);

  const presetSelect = h('select', { testid: 'menu-preset' });
  const presetDesc = h('div', { class: 'preset-desc muted', testid: 'menu-preset-description' });
  presetSelect.addEventListener('change', () => applyPreset(presetSelect.value));
  // Saved presets can be deleted; the first click arms the button, the second deletes.
  const presetDeleteBtn = h(
    'button',
    { class: 'btn small ghost hidden', testid: 'menu-preset-delete', onclick: () => void deletePreset() },
    'Delete',
  );
  const presetNameInput = h('input', { type: 'text', placeholder: 'preset name', testid: 'menu-preset-name', maxlength: '60' });
  const presetSaveRow = h(
    'div',
    { class: 'preset-save hidden' },
    presetNameInput,
    h('button', { class: 'btn small', testid: 'menu-preset-save-confirm', onclick: () => void savePreset() }, 'Save'),
    h('button', { class: 'btn small ghost', onclick: () => presetSaveRow.classList.add('hidden') }, 'Cancel'),
  );
  presetNameInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') void savePreset();
    if (ev.key === 'Escape') {
      ev.stopPropagation();
      presetSaveRow.classList.add('hidden');
    }
  });
  const errorLine = h('div', { class: 'form-error', testid: 'menu-error', role: 'alert' });
  const startBtn = h('button', { class: 'btn primary big', testid: 'start-evolution', onclick: () => void start() }, 'Start Evolution');
  const loadBtn = h('button', { class: 'btn big', testid: 'load-run', onclick: () => openLoad() }, 'Load Run');

  function fill(v: MenuValues): void {
    s.gravity.set(v.gravity);
    s.mutation.set(v.mutationPct);
    s.maxFrequency.set(v.maxFrequency);
    s.duration.set(v.duration);
    s.maxNodes.set(v.maxNodes);
    s.maxMuscles.set(v.maxMuscles);
    s.maxSize.set(v.maxSize);
    s.population.set(v.population);
    s.trials.set(v.trials);
    s.hidden.set(v.hiddenSize);
    s.weightRate.set(v.weightMutPct);
    s.weightMag.set(v.weightMutMag);
    s.pellet.set(v.fitness.pellet);
    s.progress.set(v.fitness.progress);
    s.regression.set(v.fitness.regression);
    s.movement.set(v.fitness.movement);
    mutationBox.input.checked = v.useMutation;
    crossoverBox.input.checked = v.useCrossover || !v.useMutation;
    neuralBox.input.checked = v.neuralEnabled;
    neuralModeSelect.value = v.neuralMode;
    activationSelect.value = v.activation;
    turboBox.input.checked = v.turbo;
    nameInput.value = v.name;
    seedInput.value = v.seed;
    if ([...presetSelect.options].some((o) => o.value === v.preset)) presetSelect.value = v.preset;
    changed();
  }

  function showPresetDelete(): void {
    const saved = presets.some((p) => p.name === presetSelect.value && !p.builtin);
    presetDeleteBtn.classList.toggle('hidden', !saved);
    presetDeleteBtn.textContent = 'Delete';
    delete presetDeleteBtn.dataset.armed;
  }

  async function deletePreset(): Promise<void> {
    const name = presetSelect.value;
    if (!presetDeleteBtn.dataset.armed) {
      presetDeleteBtn.dataset.armed = '1';
      presetDeleteBtn.textContent = `Delete "${name}"?`;
      return;
    }
    try {
      await api.deletePreset(name);
      values.preset = 'default';
      save();
      await loadPresets();
      applyPreset('default');
    } catch (err) {
      errorLine.textContent = err instanceof ApiError ? err.detail : String(err);
    }
  }

  function applyPreset(name: string): void {
    const preset = presets.find((p) => p.name === name);
    showPresetDelete();
    if (!preset) return;
    const base = { ...DEFAULTS, fitness: { ...DEFAULTS.fitness }, turbo: values.turbo, name: values.name, seed: values.seed };
    const v = valuesFromConfig(preset.config, base);
    v.preset = name;
    presetDesc.textContent = preset.description;
    fill(v);
  }

  function renderPresets(selected: string): void {
    clear(presetSelect);
    const builtin = presets.filter((p) => p.builtin);
    const user = presets.filter((p) => !p.builtin);
    presetSelect.append(h('optgroup', { label: 'Built-in' }, builtin.map((p) => h('option', { value: p.name }, p.name))));
    if (user.length) {
      presetSelect.append(h('optgroup', { label: 'Saved' }, user.map((p) => h('option', { value: p.name }, p.name))));
    }
    if (presets.some((p) => p.name === selected)) presetSelect.value = selected;
    presetDesc.textContent = presets.find((p) => p.name === presetSelect.value)?.description ?? '';
    showPresetDelete();
  }

  async function loadPresets(): Promise<void> {
    try {
      presets = await api.presets();
    } catch {
      presets = [{ name: 'default', builtin: true, description: '', config: {} }];
    }
    renderPresets(values.preset);
  }

  async function savePreset(): Promise<void> {
    const name = presetNameInput.value.trim();
    if (!name) {
      presetNameInput.focus();
      return;
    }
    readAll();
    try {
      await api.savePreset(name, configFromValues(values), true);
      presetSaveRow.classList.add('hidden');
      presetNameInput.value = '';
      errorLine.textContent = '';
      values.preset = name;
      save();
      await loadPresets();
      presetSelect.value = name;
      showPresetDelete();
    } catch (err) {
      errorLine.textContent = err instanceof ApiError ? err.detail : String(err);
    }
  }

  async function start(): Promise<void> {
    readAll();
    errorLine.textContent = '';
    let seed: number | undefined;
    if (values.seed !== '') {
      seed = Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) {
        errorLine.textContent = 'seed: must be a whole number ≥ 0';
        return;
      }
    }
    startBtn.disabled = true;
    startBtn.textContent = 'Starting…';
    try {
      const run = await api.createRun(
        {
          preset: values.preset || 'default',
          config: configFromValues(values),
          name: values.name.trim() || undefined,
          seed,
          turbo: values.turbo,
        },
        true,
      );
      try {
        store.noteJob(await api.advance(run.id, 1));
      } catch {
        /* the grid offers "Next generation" */
      }
      navigate(`#/run/${encodeURIComponent(run.id)}`);
    } catch (err) {
      errorLine.textContent = err instanceof ApiError ? err.detail : String(err);
    } finally {
      startBtn.disabled = false;
      startBtn.textContent = 'Start Evolution';
    }
  }

  const resetBtn = h(
    'button',
    {
      class: 'btn small ghost',
      testid: 'menu-fitness-reset',
      onclick: () => {
        s.pellet.set(DEFAULT_FITNESS.pellet);
        s.progress.set(DEFAULT_FITNESS.progress);
        s.regression.set(DEFAULT_FITNESS.regression);
        s.movement.set(DEFAULT_FITNESS.movement);
        changed();
      },
    },
    'Reset to defaults',
  );

  let preview: MenuPreview | null = null;
  const previewHost = h('div', { class: 'preview-host' });

  const el = h(
    'div',
    { class: 'screen menu-screen', testid: 'menu-screen' },
    h(
      'aside',
      { class: 'panel menu-side' },
      h('div', { class: 'panel-head' }, h('span', null, 'Neural Network')),
      neuralBox.row,
      neuralOptions,
      h('p', { class: 'muted small' }, 'Sensors: pellet direction, velocity direction, pellet distance and a time phase; one output per muscle.'),
    ),
    h(
      'main',
      { class: 'menu-center' },
      h('h1', null, 'Evolution Lab'),
      h('p', { class: 'subtitle' }, 'Soft-bodied creatures evolve to collect pellets'),
      previewHost,
      h(
        'div',
        { class: 'panel menu-form' },
        h(
          'div',
          { class: 'preset-row' },
          h('label', { class: 'field grow' }, h('span', null, 'Preset'), presetSelect),
          h(
            'button',
            {
              class: 'btn small ghost',
              testid: 'menu-preset-save',
              onclick: () => {
                presetSaveRow.classList.remove('hidden');
                presetNameInput.focus();
              },
            },
            'Save as preset…',
          ),
          presetDeleteBtn,
        ),
        presetSaveRow,
        presetDesc,
        h(
          'div',
          { class: 'slider-grid' },
          s.gravity.row,
          s.mutation.row,
          s.maxFrequency.row,
          s.duration.row,
          s.maxNodes.row,
          s.maxMuscles.row,
          s.maxSize.row,
          s.population.row,
          s.trials.row,
        ),
        h('div', { class: 'check-row' }, h('span', { class: 'muted' }, 'Evolution mode'), mutationBox.row, crossoverBox.row),
        h('div', { class: 'check-row' }, turboBox.row),
        h(
          'div',
          { class: 'field-row' },
          h('label', { class: 'field grow' }, h('span', null, 'Run name'), nameInput),
          h('label', { class: 'field' }, h('span', null, 'Seed'), seedInput),
        ),
        errorLine,
        h('div', { class: 'menu-buttons' }, startBtn, loadBtn),
      ),
    ),
    h(
      'aside',
      { class: 'panel menu-side' },
      h('div', { class: 'panel-head' }, h('span', null, 'Fitness Function')),
      h('p', { class: 'muted small' }, 'Weights of the fitness terms; they drive selection.'),
      s.pellet.row,
      s.progress.row,
      s.regression.row,
      s.movement.row,
      resetBtn,
    ),
  );

  fill(values);
  void loadPresets();

  return {
    el,
    show() {
      el.classList.remove('hidden');
      if (!preview) {
        preview = new MenuPreview(previewParams());
        previewHost.append(preview.canvas);
      }
      preview.start();
      void loadPresets();
    },
    hide() {
      el.classList.add('hidden');
      preview?.stop();
    },
  };
}
