/**
 * How the UI words a run's scores: a fitness as the mean ± spread over its trials, the pellets of each trial,
 * and the held-out benchmark's progress (first tenth of the scored generations against the last), computed
 * exactly as `evolab.runner.progress.benchmark_progress` does on the server and in `evolab stats`.
 */
import { fmt } from './dom';
import type { GenerationStats, RunSummary, TrialScores } from './types';

/** "123.4 ± 8.2" for a result over several trials, "123.4" for one. */
export function fitnessText(r: TrialScores, digits = 1): string {
  return r.fitness_std === null || r.fitness_std === undefined
    ? fmt(r.fitness, digits)
    : `${fmt(r.fitness, digits)} ± ${fmt(r.fitness_std, digits)}`;
}

/** "1·0·2·1": the pellets of each trial; null for a one-trial result. */
export function trialPelletsText(r: TrialScores): string | null {
  return r.trial_pellets && r.trial_pellets.length > 0 ? r.trial_pellets.join('·') : null;
}

/** The benchmark's first and last tenth of the generations scored so far. */
export interface BenchmarkTrend {
  scored: number;
  window: number;
  firstPellets: number;
  lastPellets: number;
  firstFitness: number;
  lastFitness: number;
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** The trend over `stats` (in generation order); null when no generation was scored on the benchmark. */
export function benchmarkTrend(stats: readonly GenerationStats[]): BenchmarkTrend | null {
  const scored = stats.filter((s) => s.benchmark_fitness != null && s.benchmark_pellets != null);
  if (scored.length === 0) return null;
  const window = Math.max(1, Math.floor(scored.length / 10));
  const first = scored.slice(0, window);
  const last = scored.slice(-window);
  return {
    scored: scored.length,
    window,
    firstPellets: mean(first.map((s) => s.benchmark_pellets as number)),
    lastPellets: mean(last.map((s) => s.benchmark_pellets as number)),
    firstFitness: mean(first.map((s) => s.benchmark_fitness as number)),
    lastFitness: mean(last.map((s) => s.benchmark_fitness as number)),
  };
}

/** "first tenth 0.13 → last tenth 0.56" (of the benchmark pellets). */
export function trendText(t: BenchmarkTrend): string {
  return `first tenth ${fmt(t.firstPellets, 2)} → last tenth ${fmt(t.lastPellets, 2)}`;
}

/** "0.56 pellets · fitness 47.9" on the benchmark, for a run judged on it; null otherwise. */
export function championText(run: RunSummary): string | null {
  if (!run.best_by_benchmark || run.best_pellets === null) return null;
  return `${fmt(run.best_pellets, 2)} pellets · fitness ${fmt(run.best_fitness)}`;
}
