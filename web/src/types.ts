/** JSON shapes of the evolab HTTP API (see the API contract); the server is the source of truth. */

export type RunStatus = 'created' | 'running' | 'completed' | 'stopped' | 'failed';
export type NeuralMode = 'off' | 'hybrid' | 'pure';
export type Activation = 'tanh' | 'relu' | 'sigmoid';
export type DisqualifiedReason = 'frequency_exceeded' | 'physics_explosion' | 'nan_position';
export type Vec3 = [number, number, number];

export interface Hsl {
  h: number;
  s: number;
  l: number;
}

export interface RunSummary {
  id: string;
  name: string;
  status: RunStatus;
  live: boolean;
  seed: number | null;
  created_at: number;
  updated_at: number;
  generation_count: number;
  /** The champion's mean fitness on the held-out benchmark when `best_by_benchmark`, else the highest fitness. */
  best_fitness: number | null;
  best_creature_id: string | null;
  best_generation: number | null;
  /** The champion's mean pellets on the held-out benchmark; null when the run has no benchmark scores. */
  best_pellets: number | null;
  best_by_benchmark: boolean;
  longest_survivor_id: string | null;
  longest_streak: number;
  longest_generation: number | null;
  parent_run_id: string | null;
  fork_generation: number | null;
  population_size: number;
  duration: number;
  gravity: number;
  mutation_rate: number;
  neural_mode: NeuralMode;
  /** Pellet layouts each creature is evaluated on per generation (its fitness is the mean). */
  trials: number;
  turbo: boolean;
}

export interface FitnessWeights {
  pellet: number;
  progress: number;
  regression: number;
  movement: number;
  movement_reference_speed?: number;
}

/** The parts of EvolutionConfig the UI reads or writes; the server may send more keys. */
export interface EvolutionConfig {
  population_size: number;
  elite_count?: number;
  mutation_rate: number;
  mutation_magnitude?: number;
  weight_mutation_rate: number;
  weight_mutation_magnitude: number;
  use_crossover: boolean;
  use_mutation: boolean;
  neural_hidden_size: number;
  neural_activation: Activation;
  constraints: {
    max_nodes: number;
    max_muscles: number;
    max_frequency: number;
    min_stiffness?: number;
    max_stiffness?: number;
    max_size?: number;
    [key: string]: unknown;
  };
  sim: {
    duration: number;
    gravity: number;
    max_allowed_frequency: number;
    neural_mode: NeuralMode;
    /** Frame of the pellet and motion senses; absent in configurations stored before it existed. */
    sensor_frame?: 'world' | 'body' | 'motion';
    fitness: FitnessWeights;
    [key: string]: unknown;
  };
  trials?: number;
  benchmark?: BenchmarkPolicy;
  [key: string]: unknown;
}

/** The held-out benchmark: fixed layouts, never used for selection, that a generation's top creatures are scored on. */
export interface BenchmarkPolicy {
  layouts: number;
  top: number;
  every: number;
  enabled: boolean;
}

/** How a run's benchmark score changed (first tenth of the scored generations against the last) and its champion. */
export interface BenchmarkProgress {
  scored: number;
  window: number;
  first_pellets: number;
  last_pellets: number;
  first_fitness: number;
  last_fitness: number;
  champion_id: string | null;
  champion_generation: number | null;
  champion_fitness: number | null;
  champion_pellets: number | null;
  pellets_ratio: number | null;
}

/** Nested partial of a config, as sent in `config` overrides. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface RunDetail extends RunSummary {
  config: EvolutionConfig;
  benchmark_progress: BenchmarkProgress | null;
}

export interface GenerationStats {
  generation: number;
  best: number;
  average: number;
  worst: number;
  median: number;
  disqualified: number;
  pellets: number;
  node_counts: Record<string, number>;
  avg_nodes: number;
  avg_muscles: number;
  sim_seconds: number;
  host_seconds: number;
  /** Benchmark mean fitness of the best of the generation's top creatures; null when not scored. */
  benchmark_fitness: number | null;
  benchmark_pellets: number | null;
  benchmark_creature: string | null;
}

/** A result's spread over its trials: null for a one-trial run. */
export interface TrialScores {
  fitness: number;
  fitness_std: number | null;
  pellets: number;
  trial_pellets: number[] | null;
}

export interface CreatureCard extends TrialScores {
  id: string;
  name: string;
  rank: number;
  pellets_spawned: number;
  disqualified: DisqualifiedReason | null;
  survival_streak: number;
  distance: number;
  displacement: number;
  born: number;
  lineage_generation: number;
  parent_ids: string[];
  origin: string;
  n_nodes: number;
  n_muscles: number;
  color: Hsl;
  avg_stiffness: number;
  avg_frequency: number;
  global_frequency_multiplier: number;
  frames: 'stored' | 'simulated';
  pose: Vec3[];
  node_sizes: number[];
  node_frictions: number[];
  muscles: [number, number][];
  muscle_stiffness: number[];
  muscle_frequency: number[];
}

export interface GenerationDetail {
  stats: GenerationStats;
  creatures: CreatureCard[];
}

export interface GenomeNode {
  id: string;
  size: number;
  friction: number;
  position: { x: number; y: number; z: number };
}

export interface GenomeMuscle {
  id: string;
  nodeA: string;
  nodeB: string;
  restLength: number;
  stiffness: number;
  damping: number;
  frequency: number;
  amplitude: number;
  phase: number;
  directionBias: { x: number; y: number; z: number };
  biasStrength: number;
  velocityBias: { x: number; y: number; z: number };
  velocityStrength: number;
  distanceBias: number;
  distanceStrength: number;
}

export interface NeuralGenomeJson {
  weights: number[];
  topology: { inputSize: number; hiddenSize: number; outputSize: number };
  activation: Activation;
}

export interface Genome {
  schemaVersion: number;
  id: string;
  generation: number;
  survivalStreak: number;
  parentIds: string[];
  nodes: GenomeNode[];
  muscles: GenomeMuscle[];
  globalFrequencyMultiplier: number;
  color: Hsl;
  /** The genome format's name for the network (the API contract says `neural`; both are accepted). */
  neuralGenome?: NeuralGenomeJson | null;
  neural?: NeuralGenomeJson | null;
  controllerType?: 'oscillator' | 'neural';
}

export function neuralOf(genome: Genome): NeuralGenomeJson | null {
  return genome.neuralGenome ?? genome.neural ?? null;
}

export interface CreatureResult extends TrialScores {
  generation: number;
  rank: number;
  disqualified: DisqualifiedReason | null;
  survival_streak: number;
}

export interface CreatureDetail {
  id: string;
  name: string;
  born: number;
  lineage_generation: number;
  parent_ids: string[];
  origin: string;
  color: Hsl;
  genome: Genome;
  results: CreatureResult[];
}

export interface ReplayPellet {
  position: Vec3;
  spawned_frame: number;
  collected_frame: number | null;
  initial_distance: number;
}

export interface Replay {
  creature_id: string;
  generation: number;
  source: 'stored' | 'simulated';
  fps: number;
  neural_mode: NeuralMode;
  frames: Vec3[][];
  fitness_over_time: number[];
  pellets: ReplayPellet[];
}

export type LineageMode = 'both' | 'crossover' | 'clone';

export interface Ancestor {
  id: string;
  name: string;
  born: number;
  parent_ids: string[];
  n_nodes: number;
  n_muscles: number;
  fitness: number | null;
  color: Hsl;
}

export interface Lineage {
  root: string;
  ancestors: Ancestor[];
}

export interface Preset {
  name: string;
  builtin: boolean;
  description: string;
  config: DeepPartial<EvolutionConfig>;
}

export type JobState = 'queued' | 'running' | 'done' | 'stopped' | 'failed';

export interface Job {
  id: string;
  kind: 'create' | 'advance' | 'fork' | 'rename' | 'delete';
  run_id: string;
  state: JobState;
  done: number;
  total: number;
  error: string | null;
}

export interface JobsState {
  current: Job | null;
  queued: Job[];
}

export interface CreateRunBody {
  preset?: string;
  config?: DeepPartial<EvolutionConfig>;
  name?: string;
  seed?: number;
  turbo?: boolean;
}

export type LiveMessage =
  | { type: 'hello'; runs: RunSummary[]; jobs: JobsState }
  | { type: 'runs'; runs: RunSummary[] }
  | { type: 'generation'; run_id: string; stats: GenerationStats; run: RunSummary }
  | { type: 'job'; job: Job };
