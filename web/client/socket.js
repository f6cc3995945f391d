// The WebSocket to the server this page came from (ws:// on http, wss:// on https), with
// reconnection: after a drop or a server restart it dials again with a growing, jittered
// delay (0.5 s doubling up to 15 s), and at once when the browser says it is back online.
// The server sends a heartbeat every 30 s; a socket silent for much longer, or one that has
// not opened after a while, is given up at once: a lost network may take minutes to report
// the close, and nothing would happen until it did.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const SILENCE_LIMIT_MS = 75000;
const CONNECT_LIMIT_MS = 15000;
const CHECK_EVERY_MS = 5000;
/** `WebSocket.CONNECTING` and `WebSocket.OPEN`. */
const CONNECTING = 0;
const OPEN = 1;

export class Connection {
  constructor() {
    this.handlers = {};
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.retryTimer = null;
    this.lastPacket = 0;
    setInterval(() => this.checkAlive(), CHECK_EVERY_MS);
    window.addEventListener('online', () => {
      if (!this.stopped && !this.isOpen()) this.dial();
    });
  }

  /** The WebSocket URL of this page's origin. */
  static url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/`;
  }

  isOpen() {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  /**
   * Connects, and keeps reconnecting until `stop()`. `handlers.packet(p)` gets every packet;
   * `handlers.open()` and `handlers.closed(willRetry, delayMs)` report the socket's state.
   */
  start(handlers) {
    this.handlers = handlers;
    this.stopped = false;
    this.dial();
  }

  /** Closes the socket and stays closed. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }

  /** Drops the current socket and dials again at once (a fresh, unauthenticated
   * connection, e.g. after logging out). */
  restart() {
    this.stopped = false;
    this.attempt = 0;
    this.dial();
  }

  /** The server answered as expected: the next drop starts again with a short delay. */
  healthy() {
    this.attempt = 0;
  }

  dial() {
    clearTimeout(this.retryTimer);
    if (this.ws) discard(this.ws);
    const ws = new WebSocket(Connection.url());
    this.ws = ws;
    this.lastPacket = Date.now();
    ws.onopen = () => {
      this.lastPacket = Date.now();
      this.handlers.open?.();
    };
    ws.onmessage = (event) => {
      this.lastPacket = Date.now();
      let packet;
      try {
        packet = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!packet || typeof packet !== 'object') return;
      this.handlers.packet?.(packet);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.lost();
    };
  }

  /** The socket is gone: say so, and dial again after the backoff delay (unless stopped). */
  lost() {
    this.ws = null;
    if (this.stopped) {
      this.handlers.closed?.(false, 0);
      return;
    }
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt = Math.min(this.attempt + 1, 10);
    this.handlers.closed?.(true, delay);
    this.retryTimer = setTimeout(() => this.dial(), delay);
  }

  /** Gives up a socket silent for too long, or one that never opened. */
  checkAlive() {
    const ws = this.ws;
    if (!ws) return;
    const quiet = Date.now() - this.lastPacket;
    const dead = ws.readyState === OPEN ? quiet > SILENCE_LIMIT_MS
      : ws.readyState === CONNECTING && quiet > CONNECT_LIMIT_MS;
    if (!dead) return;
    discard(ws);
    this.lost();
  }

  /** Sends a packet; false when the socket is not open. */
  send(packet) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(packet));
    return true;
  }
}

/** Closes `ws` and silences it: whatever it reports later is ignored. */
function discard(ws) {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.close();
}
