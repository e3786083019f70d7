/** When each frame of a replay happens: 1/fps apart, or at the `times` a source recorded them. */

import type { Replay } from './types';

/** Seconds of frame `i` from the first: `times` when the frames were recorded on a schedule of their own
 * (runs imported from the original app), else `i / fps`. */
export function frameTime(replay: Replay, i: number): number {
  const times = replay.times;
  if (times && times.length > i) return times[i] - times[0];
  return i / (replay.fps || 15);
}

/** Seconds from the first frame to the last. */
export function replayDuration(replay: Replay): number {
  return Math.max(0, frameTime(replay, replay.frames.length - 1));
}

/** The last frame recorded at or before `seconds` from the first. */
export function frameAt(replay: Replay, seconds: number): number {
  const n = replay.frames.length;
  const times = replay.times;
  if (!times || times.length < n) {
    return Math.min(n - 1, Math.max(0, Math.floor(seconds * (replay.fps || 15) + 1e-9)));
  }
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {  // the last i with times[i] - times[0] <= seconds
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] - times[0] <= seconds + 1e-9) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
