// The one Socket.IO connection (global `io` from /static/socket.io.min.js):
// its namespaces, acked emits, and the status badge while it drops and reconnects.
// Feature modules attach their own events through the binders given to connect().
import { state } from './state.js';
import { act, setStatus } from './ui.js';
import { HubError, refreshTokens, endSession } from './api.js';

// Emits with an ack; resolves with the ack's data, rejects with its error.
export function emit(sock, event, payload) {
  return new Promise((resolve, reject) => {
    sock.timeout(10000).emit(event, payload, (err, res) => {
      if (err) return reject(new HubError('timeout', `${event}: the hub did not answer`));
      if (res && res.ok) return resolve(res.data);
      const e = (res && res.error) || {};
      reject(new HubError(e.code || 'internal', `${event}: ${e.message || 'failed'}`, e.details));
    });
  });
}

export function connect(binders) {
  const manager = new io.Manager(location.origin, { transports: ['websocket'], reconnectionDelayMax: 4000 });
  // auth as a function: every (re)connect sends the current token.
  const auth = (cb) => cb({ token: state.auth ? state.auth.access_token : '' });
  const open = (nsp) => manager.socket(nsp, { auth });
  const s = { manager, conv: open('/conversations'), presence: open('/presence'),
    notif: open('/notifications'), signaling: open('/signaling'), net: open('/networking') };
  state.sockets = s;
  manager.on('reconnect_attempt', (n) => setStatus(`reconnecting (attempt ${n})…`, 'reconnecting'));
  manager.on('reconnect_failed', () => setStatus('offline', 'offline'));
  for (const sock of [s.conv, s.presence, s.notif, s.signaling, s.net]) watch(sock, s);
  for (const bind of binders) bind(s);
}

function watch(sock, sockets) {
  // This session was ended (signed out elsewhere, a password change): a refresh
  // cannot help, so back to the sign-in screen. Comes once per namespace.
  sock.on('auth:revoked', () => {
    if (state.sockets === sockets && !state.signingOut) endSession(new HubError('auth_revoked', 'This session was signed out: log in again'));
  });
  sock.on('connect_error', act(async (err) => {
    if (err && err.data && err.data.code === 'unauthorized') {
      if (await refreshTokens()) sock.connect();
    } else {
      setStatus('cannot reach the hub, retrying…', 'offline');
    }
  }));
  sock.on('disconnect', (reason) => {
    if (!state.auth) return;
    setStatus('connection lost, reconnecting…', 'reconnecting');
    // The server closed this namespace (token expiry, shutdown): the client
    // does not retry that by itself, so reconnect by hand.
    if (reason === 'io server disconnect') setTimeout(() => state.sockets === sockets && sock.connect(), 1000);
  });
}

export function disconnect() {
  const s = state.sockets;
  if (s) {
    if (s.manager.engine) s.manager.engine.close();
    Object.values(s).forEach((sock) => sock.disconnect && sock.disconnect());
  }
  state.sockets = null;
  state.everConnected = false;
}
