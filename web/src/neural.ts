/**
 * The creature's 8-H-O network, replayed from recorded frames. Layout and sensors follow
 * evolab/genome/model.py (NeuralGenome) and evolab/physics/kernel_cpu.py (_network, the sense step):
 * weights = input->hidden (w[i*H + j]), H hidden biases, hidden->output (w[.. + j*O + o]), O output biases;
 * outputs are always tanh; sensors are pellet direction (3), COM velocity direction (3), pellet distance/20
 * capped at 1, and sin(2 pi t).
 */
import type { NeuralGenomeJson, Replay, Vec3 } from './types';
import { centerOfMass } from './render/body';
import { frameTime } from './replayTime';

export const INPUT_NAMES = ['dir_x', 'dir_y', 'dir_z', 'vel_x', 'vel_y', 'vel_z', 'dist', 'time'];
export const INPUT_SIZE = 8;

export interface Activations {
  inputs: number[];
  hidden: number[];
  outputs: number[];
}

export function forward(net: NeuralGenomeJson, inputs: number[]): Activations {
  const H = net.topology.hiddenSize;
  const O = net.topology.outputSize;
  const w = net.weights;
  const ih = INPUT_SIZE * H;
  const hidden = new Array<number>(H);
  for (let j = 0; j < H; j++) {
    let acc = w[ih + j] ?? 0;
    for (let i = 0; i < INPUT_SIZE; i++) acc += inputs[i] * (w[i * H + j] ?? 0);
    if (net.activation === 'relu') hidden[j] = Math.max(acc, 0);
    else if (net.activation === 'sigmoid') hidden[j] = 1 / (1 + Math.exp(-Math.min(Math.max(acc, -500), 500)));
    else hidden[j] = Math.tanh(acc);
  }
  const ho = ih + H;
  const ob = ho + H * O;
  const outputs = new Array<number>(O);
  for (let o = 0; o < O; o++) {
    let acc = w[ob + o] ?? 0;
    for (let j = 0; j < H; j++) acc += hidden[j] * (w[ho + j * O + o] ?? 0);
    outputs[o] = Math.tanh(acc);
  }
  return { inputs, hidden, outputs };
}

/** The pellet a creature is chasing at `frame` (spawned, not yet collected), if any. */
export function activePellet(replay: Replay, frame: number): Vec3 | null {
  for (const p of replay.pellets) {
    if (p.spawned_frame <= frame && (p.collected_frame === null || frame < p.collected_frame)) return p.position;
  }
  return null;
}

/** Sensor values rebuilt from the recorded frames (frame COM to the active pellet, COM velocity). */
export function sensorsAt(replay: Replay, sizes: number[], frame: number): number[] {
  const pose = replay.frames[frame];
  const com = centerOfMass(pose, sizes);
  let dx = 0;
  let dy = 0;
  let dz = 0;
  let dist = 1;
  const pellet = activePellet(replay, frame);
  if (pellet) {
    dx = pellet[0] - com[0];
    dy = pellet[1] - com[1];
    dz = pellet[2] - com[2];
    const d = Math.hypot(dx, dy, dz);
    dist = Math.min(d / 20, 1);
    if (d > 0.01) {
      dx /= d;
      dy /= d;
      dz /= d;
    } else {
      dx = dy = dz = 0;
    }
  }
  let vx = 0;
  let vy = 0;
  let vz = 0;
  if (frame > 0) {
    const prev = centerOfMass(replay.frames[frame - 1], sizes);
    vx = com[0] - prev[0];
    vy = com[1] - prev[1];
    vz = com[2] - prev[2];
    const v = Math.hypot(vx, vy, vz);
    if (v > 0.001) {
      vx /= v;
      vy /= v;
      vz /= v;
    } else {
      vx = vy = vz = 0;
    }
  }
  const t = frameTime(replay, frame);
  return [dx, dy, dz, vx, vy, vz, dist, Math.sin(2 * Math.PI * t)];
}
