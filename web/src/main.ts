/** Entry point: hash routing between the menu and a run's grid, the live socket, test hooks. */
import './styles.css';
import { h } from './dom';
import { live } from './live';
import { createGrid } from './screens/grid';
import { createMenu } from './screens/menu';
import { store } from './store';
import { openLoadRuns } from './widgets/loadRuns';
import { replayFrame } from './widgets/replay';

declare global {
  interface Window {
    __evolab: { replayFrame(): number };
  }
}

window.__evolab = { replayFrame };

function navigate(hash: string): void {
  if (location.hash === hash) route();
  else location.hash = hash;
}

const grid = createGrid(navigate);
const menu = createMenu(navigate, () =>
  openLoadRuns((run) => navigate(`#/run/${encodeURIComponent(run.id)}`)),
);

const connection = h('div', { class: 'connection hidden', testid: 'connection' }, 'Reconnecting to the evolab server…');
document.getElementById('app')!.append(menu.el, grid.el, connection);
live.onState((ok) => connection.classList.toggle('hidden', ok));
window.setTimeout(() => connection.classList.toggle('hidden', live.connected), 2500);

/** `#/` menu, `#/run/<id>` a run at its latest generation, `#/run/<id>/gen/<g>` a past generation. */
function route(): void {
  const m = /^#\/run\/([^/]+)(?:\/gen\/(\d+))?\/?$/.exec(location.hash);
  if (m) {
    menu.hide();
    grid.open(decodeURIComponent(m[1]), m[2] !== undefined ? Number(m[2]) : null);
    document.title = 'Evolution Lab · run';
  } else {
    grid.hide();
    menu.show();
    document.title = 'Evolution Lab';
  }
}

window.addEventListener('hashchange', route);
store.init();
live.start();
route();
