/**
 * "Simulation Replay" modal: plays a creature's frames (stored or re-simulated by the server) in a three.js
 * scene (reference §7.7) with a camera that follows the centre of mass, plus genome, neural and family panels.
 */
import {
  AmbientLight,
  BufferGeometry,
  Color,
  DirectionalLight,
  Float32BufferAttribute,
  GridHelper,
  Group,
  Line,
  LineDashedMaterial,
  Mesh,
  MeshStandardMaterial,
  PerspectiveCamera,
  PlaneGeometry,
  Scene,
  SphereGeometry,
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { api } from '../api';
import { h } from '../dom';
import { fitnessText, trialPelletsText } from '../scores';
import { forward, INPUT_NAMES, sensorsAt } from '../neural';
import { frameAt, replayDuration } from '../replayTime';
import { type Body, bodyFromCard, bodyFromGenome, centerOfMass, heatColor, hslToCss } from '../render/body';
import { CreatureMesh } from '../render/creatureMesh';
import { type Camera2D, drawBody2D, drawGround, projector } from '../render/fallback2d';
import { markWebglBroken, webglAvailable } from '../render/webgl';
import { type CreatureCard, type CreatureDetail, neuralOf, type Replay, type TrialScores, type Vec3 } from '../types';
import { renderFamilyTree } from './familyTree';
import { renderGenome } from './genomeViewer';
import { openModal } from './modal';
import { NeuralViz } from './neuralViz';

export interface ReplayRequest {
  runId: string;
  generation: number;
  creatureId: string;
  /** The grid card, if the replay was opened from one (used while the genome loads). */
  card?: CreatureCard;
  stiffnessRange?: [number, number];
  title?: string;
}

let currentFrame = -1;
export function replayFrame(): number {
  return currentFrame;
}

const VIEW_W = 640;
const VIEW_H = 420;
const CAM_OFFSET: Vec3 = [8, 5, 12]; // (8,6,12) looking at (0,1,0)

/** The creature's score in the generation: its mean fitness ± spread and pellets over the trials (the replay
 * shows the first trial's layout, so its own fitness and pellets are that trial's). */
function scoreText(r: TrialScores): string {
  const perTrial = trialPelletsText(r);
  if (!perTrial || !r.trial_pellets) return `Generation score: fitness ${fitnessText(r)} · ${r.pellets} pellets`;
  const n = r.trial_pellets.length;
  return `Generation score over ${n} trials: fitness ${fitnessText(r)} · pellets ${perTrial} · replay shows trial 1`;
}

function mmss(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

interface Viewport {
  draw(frame: number, dt: number): void;
  resetCamera(): void;
  dispose(): void;
}

/** The WebGL viewport: ground, grid, lights, creature mesh, pellets with dashed drop lines. */
function webglViewport(
  canvas: HTMLCanvasElement,
  replay: Replay,
  body: Body,
  activations: () => number[] | null,
): Viewport {
  const renderer = new WebGLRenderer({ canvas, antialias: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  renderer.setSize(VIEW_W, VIEW_H, false);
  const scene = new Scene();
  scene.background = new Color('#0f0f14');
  scene.add(new AmbientLight(0xffffff, 0.5 * Math.PI));
  const sun = new DirectionalLight(0xffffff, 0.8 * Math.PI);
  sun.position.set(5, 10, 5);
  scene.add(sun);
  const ground = new Mesh(
    new PlaneGeometry(30, 30),
    new MeshStandardMaterial({ color: '#15151e', roughness: 0.95, metalness: 0 }),
  );
  ground.rotation.x = -Math.PI / 2;
  scene.add(ground);
  const grid = new GridHelper(30, 30, 0x4b4b6e, 0x33334a);
  grid.position.y = 0.002;
  scene.add(grid);

  const camera = new PerspectiveCamera(50, VIEW_W / VIEW_H, 0.1, 500);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = true;
  controls.maxPolarAngle = Math.PI * 0.495;

  const mesh = new CreatureMesh(body);
  scene.add(mesh.group);

  const pelletGeo = new SphereGeometry(0.3, 20, 14);
  const pelletMat = new MeshStandardMaterial({ color: '#10b981', emissive: '#10b981', emissiveIntensity: 0.4 });
  const lineMat = new LineDashedMaterial({ color: '#10b981', dashSize: 0.15, gapSize: 0.1, transparent: true, opacity: 0.7 });
  const pellets = replay.pellets.map((p) => {
    const g = new Group();
    const ball = new Mesh(pelletGeo, pelletMat);
    ball.position.set(...p.position);
    const geo = new BufferGeometry();
    geo.setAttribute('position', new Float32BufferAttribute([...p.position, p.position[0], 0, p.position[2]], 3));
    const line = new Line(geo, lineMat);
    line.computeLineDistances();
    g.add(ball, line);
    g.visible = false;
    scene.add(g);
    return g;
  });

  const target = new Vector3();
  const resetCamera = (): void => {
    const com = replay.frames.length ? centerOfMass(replay.frames[0], body.sizes) : [0, 0, 0];
    target.set(com[0], 1, com[2]);
    controls.target.copy(target);
    camera.position.set(target.x + CAM_OFFSET[0], target.y + CAM_OFFSET[1], target.z + CAM_OFFSET[2]);
    camera.lookAt(target);
    controls.update();
  };
  resetCamera();
  let lastActs: number[] | null | undefined;
  const desired = new Vector3();
  const delta = new Vector3();

  return {
    draw(frame, dt) {
      const pose = replay.frames[frame];
      if (pose) mesh.setPose(pose);
      const acts = activations();
      if (acts !== lastActs) {
        mesh.setActivations(acts);
        lastActs = acts;
      }
      replay.pellets.forEach((p, i) => {
        pellets[i].visible = p.spawned_frame <= frame && (p.collected_frame === null || frame < p.collected_frame);
      });
      if (pose) {
        const com = centerOfMass(pose, body.sizes);
        if (Number.isFinite(com[0]) && Number.isFinite(com[2])) {
          desired.set(com[0], 1, com[2]);
          const k = 1 - Math.exp(-dt * 1.5);
          delta.subVectors(desired, controls.target).multiplyScalar(k);
          controls.target.add(delta);
          camera.position.add(delta);
        }
      }
      controls.update();
      renderer.render(scene, camera);
    },
    resetCamera,
    dispose() {
      controls.dispose();
      mesh.dispose();
      scene.traverse((obj) => {
        const m = obj as Mesh;
        if (m.geometry && m.geometry !== pelletGeo) m.geometry.dispose?.();
      });
      pelletGeo.dispose();
      pelletMat.dispose();
      lineMat.dispose();
      (ground.material as MeshStandardMaterial).dispose();
      renderer.dispose();
      renderer.forceContextLoss();
    },
  };
}

/** The Canvas2D viewport used when WebGL is unavailable (fixed camera that follows the creature). */
function canvas2dViewport(
  canvas: HTMLCanvasElement,
  replay: Replay,
  body: Body,
  activations: () => number[] | null,
): Viewport {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  canvas.width = VIEW_W * dpr;
  canvas.height = VIEW_H * dpr;
  const ctx = canvas.getContext('2d')!;
  const target: Vec3 = [0, 1, 0];
  const resetCamera = (): void => {
    const com = replay.frames.length ? centerOfMass(replay.frames[0], body.sizes) : [0, 0, 0];
    target[0] = com[0];
    target[2] = com[2];
  };
  resetCamera();
  return {
    draw(frame, dt) {
      const pose = replay.frames[frame];
      if (pose) {
        const com = centerOfMass(pose, body.sizes);
        const k = 1 - Math.exp(-dt * 1.5);
        if (Number.isFinite(com[0])) target[0] += (com[0] - target[0]) * k;
        if (Number.isFinite(com[2])) target[2] += (com[2] - target[2]) * k;
      }
      const cam: Camera2D = {
        eye: [target[0] + CAM_OFFSET[0], target[1] + CAM_OFFSET[1], target[2] + CAM_OFFSET[2]],
        target: [...target],
        fovDeg: 50,
      };
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = '#0f0f14';
      ctx.fillRect(0, 0, VIEW_W, VIEW_H);
      drawGround(ctx, cam, VIEW_W, VIEW_H);
      const proj = projector(cam, VIEW_W, VIEW_H);
      for (const p of replay.pellets) {
        if (!(p.spawned_frame <= frame && (p.collected_frame === null || frame < p.collected_frame))) continue;
        const top = proj(p.position);
        const foot = proj([p.position[0], 0, p.position[2]]);
        ctx.setLineDash([4, 3]);
        ctx.strokeStyle = 'rgba(16,185,129,0.7)';
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(top[0], top[1]);
        ctx.lineTo(foot[0], foot[1]);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#10b981';
        ctx.beginPath();
        ctx.arc(top[0], top[1], Math.max(2, 0.3 * top[3]), 0, Math.PI * 2);
        ctx.fill();
      }
      if (pose) {
        const acts = activations();
        const override = acts
          ? body.muscles.map((_, j) => {
              const c = acts[j] === undefined ? null : heatColor(acts[j]);
              return c ? hslToCss(c) : null;
            })
          : null;
        drawBody2D(ctx, cam, VIEW_W, VIEW_H, body, pose, override);
      }
    },
    resetCamera,
    dispose() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
    },
  };
}

export function openReplay(req: ReplayRequest): void {
  const abort = new AbortController();
  let raf = 0;
  let viewport: Viewport | null = null;
  const modal = openModal({
    title: 'Simulation Replay',
    testid: 'replay-modal',
    closeTestid: 'replay-close',
    className: 'replay',
    onClose: () => {
      abort.abort();
      cancelAnimationFrame(raf);
      viewport?.dispose();
      viewport = null;
      currentFrame = -1;
    },
  });
  const sourceBadge = h('span', { class: 'badge', testid: 'replay-source' }, 'loading…');
  modal.header.insertBefore(
    h('span', { class: 'replay-title' }, req.title ?? req.card?.name ?? req.creatureId, ` · Gen ${req.generation}`),
    modal.header.children[1],
  );
  modal.header.insertBefore(sourceBadge, modal.header.lastElementChild);

  const canvas = h('canvas', { class: 'replay-canvas', testid: 'replay-canvas', width: VIEW_W, height: VIEW_H });
  const overlay = h('div', { class: 'replay-overlay', testid: 'replay-loading' }, h('div', { class: 'spinner' }), req.card?.frames === 'simulated' ? 'Re-simulating on the server…' : 'Loading replay…');
  const view = h('div', { class: 'replay-view' }, canvas, overlay);
  const timeEl = h('span', { class: 'mono', testid: 'replay-time' }, '0:00 / 0:00');
  const fitnessEl = h('span', { class: 'replay-fitness mono', testid: 'replay-fitness' }, '-');
  const fitnessBar = h('div', { class: 'bar-fill success' });
  const progressBar = h('div', { class: 'bar-fill' });
  const statsEl = h('span', { class: 'mono', testid: 'replay-stats' }, '');
  const scoreEl = h('div', { class: 'replay-score mono', testid: 'replay-score' }, req.card ? scoreText(req.card) : '');
  const speedBtns = [1, 2, 4].map((s) =>
    h('button', { class: 'btn small', testid: `replay-speed-${s}`, onclick: () => setSpeed(s) }, `${s}x`),
  );
  const restartBtn = h('button', { class: 'btn small', testid: 'replay-restart', onclick: () => restart() }, 'Restart');
  const side = h('div', { class: 'replay-side' });
  const neuralSlot = h('div', { class: 'neural-slot' });
  modal.body.append(
    h(
      'div',
      { class: 'replay-layout' },
      h(
        'div',
        { class: 'replay-main' },
        view,
        h(
          'div',
          { class: 'replay-controls' },
          restartBtn,
          h('div', { class: 'seg' }, speedBtns),
          h('div', { class: 'bar', testid: 'replay-progress' }, progressBar),
          timeEl,
        ),
        h(
          'div',
          { class: 'replay-readouts' },
          h('div', { class: 'readout' }, h('label', null, 'Fitness'), fitnessEl, h('div', { class: 'bar thin' }, fitnessBar)),
          h('div', { class: 'readout' }, h('label', null, 'Nodes | Muscles | Pellets'), statsEl),
        ),
        scoreEl,
        neuralSlot,
      ),
      side,
    ),
  );

  let replay: Replay | null = null;
  let body: Body | null = req.card ? bodyFromCard(req.card, req.stiffnessRange) : null;
  let speed = 1;
  let basePos = 0;
  let baseTime = performance.now();
  let lastTick = performance.now();
  let acts: number[] | null = null;
  let neuralFrame = -1;
  let onFrame: ((frame: number) => void) | null = null;

  const position = (now: number): number => basePos + ((now - baseTime) / 1000) * speed;
  function setSpeed(s: number): void {
    const now = performance.now();
    basePos = position(now);
    baseTime = now;
    speed = s;
    speedBtns.forEach((b, i) => b.classList.toggle('active', [1, 2, 4][i] === s));
  }
  function restart(): void {
    basePos = 0;
    baseTime = performance.now();
    viewport?.resetCamera();
  }
  setSpeed(1);

  function tick(now: number): void {
    raf = requestAnimationFrame(tick);
    if (!replay || !viewport || !body) return;
    const total = replayDuration(replay);
    let pos = position(now);
    if (total > 0 && pos > total) {
      basePos = pos % total;
      baseTime = now;
      pos = basePos;
    }
    const frame = frameAt(replay, pos);
    const dt = Math.min(0.1, (now - lastTick) / 1000);
    lastTick = now;
    if (frame !== neuralFrame) {
      neuralFrame = frame;
      onFrame?.(frame);
    }
    currentFrame = frame;
    viewport.draw(frame, dt);
    const fot = replay.fitness_over_time;
    const fit = fot[Math.min(frame, fot.length - 1)] ?? 0;
    const maxFit = Math.max(0.1, ...fot.filter(Number.isFinite));
    fitnessEl.textContent = Number.isFinite(fit) ? fit.toFixed(1) : '-';
    fitnessBar.style.width = `${Math.max(0, Math.min(100, (fit / maxFit) * 100))}%`;
    timeEl.textContent = `${mmss(pos)} / ${mmss(total)}`;
    progressBar.style.width = `${total > 0 ? (pos / total) * 100 : 100}%`;
    const spawned = replay.pellets.filter((p) => p.spawned_frame <= frame).length;
    const got = replay.pellets.filter((p) => p.collected_frame !== null && p.collected_frame <= frame).length;
    statsEl.textContent = `${body.sizes.length} | ${body.muscles.length} | ${got}/${spawned}`;
  }

  const replayP = api.replay(req.runId, req.generation, req.creatureId, abort.signal);
  const creatureP = api.creature(req.runId, req.creatureId);

  void (async () => {
    let detail: CreatureDetail | null = null;
    try {
      detail = await creatureP;
    } catch {
      /* the genome panels stay empty; the replay can still play from the card */
    }
    if (abort.signal.aborted) return;
    if (detail) {
      body = bodyFromGenome(detail.genome, req.stiffnessRange);
      const result = detail.results.find((r) => r.generation === req.generation);
      if (result) scoreEl.textContent = scoreText(result);
      side.append(
        renderFamilyTree(req.runId, detail, result?.fitness ?? req.card?.fitness ?? null),
        h('div', { class: 'panel-head' }, h('span', null, 'Genome')),
        renderGenome(detail),
      );
    } else {
      side.append(h('div', { class: 'muted' }, 'Genome unavailable.'));
    }
    let rep: Replay;
    try {
      rep = await replayP;
    } catch (err) {
      if (abort.signal.aborted) return;
      overlay.textContent = `Replay unavailable: ${(err as Error).message}`;
      overlay.classList.add('error');
      sourceBadge.textContent = 'unavailable';
      return;
    }
    if (abort.signal.aborted) return;
    if (!body) {
      overlay.textContent = 'Replay unavailable: genome could not be loaded';
      return;
    }
    replay = rep;
    const imported = rep.imported_from === 'original-app';
    sourceBadge.textContent =
      rep.source === 'stored'
        ? imported
          ? 'frames recorded by the original app'
          : 'stored frames'
        : imported
          ? "re-simulated with evolab's physics (not the original app's)"
          : 're-simulated';
    sourceBadge.classList.add(rep.source === 'stored' ? 'badge-ok' : 'badge-accent');
    overlay.remove();

    const net = detail ? neuralOf(detail.genome) : null;
    if (net && net.weights.length > 0) {
      const names = body.muscles.map(([a, b]) => `${a}-${b}`);
      const viz = new NeuralViz(names);
      const groups = [
        ['direction', INPUT_NAMES.slice(0, 3), '#818cf8'],
        ['velocity', INPUT_NAMES.slice(3, 6), '#10b981'],
        ['distance', INPUT_NAMES.slice(6, 7), '#f59e0b'],
        ['time', INPUT_NAMES.slice(7), '#ef4444'],
      ] as const;
      neuralSlot.append(
        h(
          'div',
          { class: 'neural-panel', testid: 'neural-panel' },
          h('div', { class: 'panel-head' }, h('span', null, 'Neural network')),
          h(
            'div',
            { class: 'neural-wrap' },
            viz.canvas,
            h(
              'div',
              { class: 'neural-info' },
              h('div', null, `Mode: ${rep.neural_mode}`),
              h('div', null, `Topology: ${net.topology.inputSize} → ${net.topology.hiddenSize} → ${net.topology.outputSize}`),
              h('div', null, `Activation: ${net.activation}`),
              h('div', null, `Weights: ${net.weights.length}`),
              h(
                'div',
                { class: 'sensor-names' },
                groups.map(([title, names, color]) =>
                  h('span', { style: { color }, title }, names.join(' ')),
                ),
              ),
            ),
          ),
        ),
      );
      const sizes = body.sizes;
      onFrame = (frame) => {
        if (!rep.frames[frame]) return;
        const a = forward(net, sensorsAt(rep, sizes, frame));
        acts = a.outputs;
        viz.draw(a);
      };
    }

    try {
      if (!webglAvailable()) throw new Error('no WebGL');
      viewport = webglViewport(canvas, rep, body, () => acts);
    } catch {
      markWebglBroken();
      // a canvas that already handed out a WebGL context cannot give a 2D one
      const fresh = h('canvas', { class: 'replay-canvas', testid: 'replay-canvas' });
      canvas.replaceWith(fresh);
      viewport = canvas2dViewport(fresh, rep, body, () => acts);
      sourceBadge.title = '2D fallback (WebGL unavailable)';
    }
    basePos = 0;
    baseTime = performance.now();
    lastTick = baseTime;
  })();
  raf = requestAnimationFrame(tick);
}
