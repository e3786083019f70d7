/** Shared live state fed by the WebSocket: the run list and the server's jobs. */
import { api } from './api';
import { live } from './live';
import type { Job, JobsState, RunSummary } from './types';

type Fn = () => void;

const activeJobs = new Map<string, Job>(); // job id -> job still queued or running
// Ids of jobs seen finished: a POST's answer ("queued") can arrive after the socket said "done".
const finishedJobs = new Set<string>();
let runs: RunSummary[] | null = null;
const jobListeners = new Set<(job: Job | null) => void>();
const runListeners = new Set<Fn>();

function isActive(job: Job): boolean {
  return job.state === 'queued' || job.state === 'running';
}

function setJobs(state: JobsState): void {
  activeJobs.clear();
  for (const job of [state.current, ...state.queued]) {
    if (job && isActive(job) && !finishedJobs.has(job.id)) activeJobs.set(job.id, job);
  }
  for (const l of jobListeners) l(null);
}

function updateJob(job: Job): void {
  if (finishedJobs.has(job.id)) return; // stale news of a job that is already over
  if (isActive(job)) {
    activeJobs.set(job.id, job);
  } else {
    activeJobs.delete(job.id);
    finishedJobs.add(job.id);
  }
  for (const l of jobListeners) l(job);
}

export const store = {
  init(): void {
    live.subscribe((msg) => {
      if (msg.type === 'hello') {
        runs = msg.runs;
        setJobs(msg.jobs);
        for (const l of runListeners) l();
      } else if (msg.type === 'runs') {
        runs = msg.runs;
        for (const l of runListeners) l();
      } else if (msg.type === 'job') {
        updateJob(msg.job);
      } else if (msg.type === 'generation' && runs) {
        const i = runs.findIndex((r) => r.id === msg.run_id);
        if (i >= 0) {
          runs[i] = msg.run;
          for (const l of runListeners) l();
        }
      }
    });
    // Reconnects replay `hello`; this covers a socket that is slow to open.
    api.jobs().then(setJobs, () => undefined);
  },
  /** The job queued or running for a run, if any (the running one first). */
  jobFor(runId: string): Job | null {
    let found: Job | null = null;
    for (const job of activeJobs.values()) {
      if (job.run_id !== runId) continue;
      if (!found || job.state === 'running') found = job;
    }
    return found;
  },
  /** Record a job the client just created, before the socket reports it. */
  noteJob(job: Job): void {
    updateJob(job);
  },
  onJob(fn: (job: Job | null) => void): Fn {
    jobListeners.add(fn);
    return () => jobListeners.delete(fn);
  },
  get runs(): RunSummary[] | null {
    return runs;
  },
  setRuns(list: RunSummary[]): void {
    runs = list;
    for (const l of runListeners) l();
  },
  onRuns(fn: Fn): Fn {
    runListeners.add(fn);
    return () => runListeners.delete(fn);
  },
};
