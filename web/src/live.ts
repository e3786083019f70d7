/** The /api/ws WebSocket: reconnects with back-off and fans messages out to subscribers. */
import type { LiveMessage } from './types';

type Listener = (msg: LiveMessage) => void;
type StateListener = (connected: boolean) => void;

const listeners = new Set<Listener>();
const stateListeners = new Set<StateListener>();
let socket: WebSocket | null = null;
let retryMs = 500;
let connected = false;

function url(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/ws`;
}

function setConnected(value: boolean): void {
  if (connected === value) return;
  connected = value;
  for (const l of stateListeners) l(value);
}

function connect(): void {
  try {
    socket = new WebSocket(url());
  } catch {
    scheduleReconnect();
    return;
  }
  socket.addEventListener('open', () => {
    retryMs = 500;
    setConnected(true);
  });
  socket.addEventListener('message', (ev) => {
    let msg: LiveMessage;
    try {
      msg = JSON.parse(String(ev.data)) as LiveMessage;
    } catch {
      return;
    }
    for (const l of listeners) {
      try {
        l(msg);
      } catch (err) {
        console.error('live listener failed', err);
      }
    }
  });
  socket.addEventListener('close', () => {
    socket = null;
    setConnected(false);
    scheduleReconnect();
  });
  socket.addEventListener('error', () => socket?.close());
}

function scheduleReconnect(): void {
  window.setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 8000);
}

export const live = {
  start(): void {
    if (!socket) connect();
  },
  subscribe(fn: Listener): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  onState(fn: StateListener): () => void {
    stateListeners.add(fn);
    return () => stateListeners.delete(fn);
  },
  get connected(): boolean {
    return connected;
  },
};
