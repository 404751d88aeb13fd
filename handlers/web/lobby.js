// Speed networking (/networking, media through /signaling): lobbies, the timed
// session with a matched peer, the rating, and the chat a mutual connect opens.
import { state } from './state.js';
import { $, el, act, onSubmit } from './ui.js';
import { api } from './api.js';
import { emit } from './socket.js';
import { loadProfiles } from './users.js';
import { others, convTitle, upsertConversation } from './chat.js';
import { makePeer } from './calls.js';
import { stopTracks } from './rtc.js';

const END_REASONS = { time_up: 'Time is up', peer_left: 'Your partner left', peer_no_show: 'Your partner did not show up', lobby_closed: 'The lobby closed' };

// The #/lobby page: the lobby we are in, or the open ones to pick from.
export async function showLobby() {
  renderLobby();
  if (!state.lobby) await loadLobbies();
}

async function loadLobbies() {
  const page = await api('GET', '/networking/lobbies?limit=50');
  const open = page.items.filter((l) => l.status === 'open');
  $('#lobbies').replaceChildren(...open.map((l) => {
    const b = el('button', { type: 'button', className: 'conv-item' },
      el('span', { className: 'name', textContent: l.title }),
      el('span', { textContent: `${l.duration_minutes} min · ${l.waiting} waiting` }),
      el('span', { className: 'last', textContent: 'Join · ' + l.topic }));
    b.addEventListener('click', act(() => joinLobby(l)));
    return el('li', { className: 'lobby' }, b);
  }));
  $('#no-lobbies').hidden = open.length > 0;
}

async function joinLobby(l) {
  const r = await emit(state.sockets.net, 'lobby:join', { lobby_id: l.id });
  state.lobby = { id: l.id, title: l.title };
  renderLobby(`${r.waiting} waiting`);
}

// text: the waiting line; left as it is when not given.
function renderLobby(text) {
  $('#lobby-pick').hidden = !!state.lobby;
  $('#lobby-in').hidden = !state.lobby;
  if (state.lobby) $('#lobby-title').textContent = state.lobby.title;
  if (text !== undefined) $('#lobby-waiting').textContent = text;
}

export function bindLobby(s) {
  s.net.on('lobby:update', (u) => {
    if (state.lobby && u.lobby_id === state.lobby.id) renderLobby(`${u.waiting} waiting · ${u.active_sessions} in sessions`);
  });
  s.net.on('match:found', act(onMatch));
  s.net.on('session:ended', (e) => {
    if (!state.session || state.session.id !== e.session_id) return;
    finishSession(END_REASONS[e.reason] || 'Session ended');
    if (e.reason === 'lobby_closed') { state.lobby = null; renderLobby(); }
  });
  s.net.on('networking:connected', act(onConnected));
}

async function onMatch(m) {
  endSessionMedia();
  const sess = { id: m.session_id, role: m.role, ice: m.ice_servers, pendingIce: [], endsAt: Date.parse(m.ends_at) };
  state.session = sess;
  state.rating = null;
  $('#session').hidden = false; $('#rate-form').hidden = true; $('#session-result').textContent = '';
  $('#session-peer').textContent = m.peer.display_name + (m.peer.headline ? ` (${m.peer.headline})` : '');
  $('#session-state').textContent = 'connecting…';
  sess.timer = setInterval(() => tickSession(sess), 500); tickSession(sess);
  if (location.hash !== '#/lobby') location.hash = '#/lobby';
  // Signals that arrive while the camera starts wait for this.
  sess.ready = makePeer(sess, 'session_id', 'session', () => state.session === sess, 'connected');
  await sess.ready;
  if (m.role === 'offerer' && state.session === sess) {
    await sess.pc.setLocalDescription(await sess.pc.createOffer());
    await emit(state.sockets.signaling, 'signal', { session_id: sess.id, type: 'offer', sdp: sess.pc.localDescription.sdp });
  }
}

// Both sides chose to connect: the hub made a chat between them.
async function onConnected(e) {
  const c = await emit(state.sockets.conv, 'conversation:get', { conversation_id: e.conversation_id });
  // The peer was anonymous until now: load their profile before naming them.
  await loadProfiles(others(c));
  upsertConversation(c, !state.convs.has(c.id));
  $('#session-result').replaceChildren(`You are connected with ${convTitle(c)}: `,
    el('a', { href: '#/c/' + c.id, textContent: 'open the chat' }));
}

function tickSession(sess) {
  const left = Math.max(0, Math.round((sess.endsAt - Date.now()) / 1000));
  $('#session-countdown').textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
}

export function endSessionMedia() {
  const sess = state.session;
  state.session = null;
  if (!sess) return;
  clearInterval(sess.timer);
  if (sess.pc) sess.pc.close();
  stopTracks(sess.stream);
  $('#session-local').srcObject = null; $('#session-remote').srcObject = null;
}

// The session is over (text says why): offer the rating form.
function finishSession(text) {
  const id = state.session && state.session.id;
  endSessionMedia();
  $('#session-state').textContent = text;
  $('#session-countdown').textContent = '';
  if (id) { state.rating = id; $('#rate-form').hidden = false; $('#rate-form').reset(); }
}

$('#lobby-leave').addEventListener('click', act(async () => {
  const lobby = state.lobby;
  state.lobby = null;
  endSessionMedia(); $('#session').hidden = true;
  renderLobby();
  if (lobby) await emit(state.sockets.net, 'lobby:leave', { lobby_id: lobby.id });
  await loadLobbies();
}));
$('#session-leave').addEventListener('click', act(async () => {
  const sess = state.session;
  if (!sess) return;
  finishSession('You left the session');
  await emit(state.sockets.net, 'session:leave', { session_id: sess.id });
}));
// A refused rating (a note too long, say) shows next to its field.
onSubmit($('#rate-form'), async (_fields, f) => {
  const payload = { session_id: state.rating, stars: Number(f.stars.value), connect: f.connect.checked };
  if (f.note.value.trim()) payload.note = f.note.value.trim();
  await emit(state.sockets.net, 'session:rate', payload);
  f.hidden = true;
  state.rating = null;
  if (!$('#session-result').textContent) $('#session-result').textContent = payload.connect ? 'Thanks! If they choose to connect too, a chat opens.' : 'Thanks for rating.';
});
