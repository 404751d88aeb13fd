// Conversations (/conversations + /presence): the list with unread badges and
// presence dots, and the open conversation with history, send / edit / delete,
// read receipts and typing. Protocol: docs/protocol.md.
import { state } from './state.js';
import { $, el, act, showError, setStatus } from './ui.js';
import { api } from './api.js';
import { emit } from './socket.js';
import { userName, onProfile } from './users.js';
import { uploadFile, attachmentList } from './files.js';

// ---------- the conversation store ----------
export function others(c) { return c.participant_ids.filter((id) => !state.me || id !== state.me.id); }

function peerIds() {
  const ids = new Set();
  for (const c of state.convs.values()) others(c).forEach((id) => ids.add(id));
  return ids;
}

export function convTitle(c) { return c.title || others(c).map(userName).join(', ') || 'Just you'; }

function convStatus(c) {
  const peers = others(c);
  return peers.some((id) => state.presence.get(id) === 'online') ? 'online'
    : (peers.map((id) => state.presence.get(id)).find((s) => s && s !== 'offline') || 'offline');
}

const toTop = (id) => { state.order = [id, ...state.order.filter((x) => x !== id)]; };

export function upsertConversation(c, moveUp) {
  const known = state.convs.has(c.id);
  state.convs.set(c.id, c);
  notePeerReads(c);
  if (!known || moveUp) toTop(c.id);
  if (!known) subscribePresence(others(c)).catch(showError);
  renderList();
  if (state.current === c.id) renderConvHead();
}

// Read receipts: the highest read marker of the others. The Conversation's
// read_seqs gives it on load (and after a reconnect), message:read events live.
function notePeerReads(c) {
  const seqs = c.read_seqs || {};
  const highest = Math.max(0, ...others(c).map((id) => seqs[id] || 0));
  raisePeerRead(c.id, highest);
  if (state.current === c.id) renderMessages();
}

function raisePeerRead(convId, seq) {
  state.peerRead.set(convId, Math.max(state.peerRead.get(convId) || 0, seq));
}

function addMessage(m) {
  let map = state.messages.get(m.conversation_id);
  if (!map) { map = new Map(); state.messages.set(m.conversation_id, map); }
  map.set(m.seq, m);
}

function recountUnread(c) {
  const map = state.messages.get(c.id);
  if (!map) { if (c.read_seq >= c.last_seq) c.unread_count = 0; return; }
  c.unread_count = [...map.values()].filter((m) => m.seq > c.read_seq && !m.deleted && m.sender_id !== state.me.id).length;
}

async function loadConversations() {
  const seen = [];
  let cursor = null;
  do {
    const page = await emit(state.sockets.conv, 'conversation:list', { limit: 100, cursor });
    for (const c of page.items) { state.convs.set(c.id, c); notePeerReads(c); seen.push(c.id); }
    cursor = page.next_cursor;
  } while (cursor);
  state.order = seen;
  renderList();
  await subscribePresence([...peerIds()]);
}

async function subscribePresence(ids) {
  const s = state.sockets;
  if (!ids.length || !s || !s.presence.connected) return;
  const result = await emit(s.presence, 'presence:subscribe', { user_ids: ids.slice(0, 500) });
  for (const p of result.items) state.presence.set(p.user_id, p.status);
  renderList(); renderConvHead();
}

// ---------- connect, reconnect and sync ----------
async function onConversationsConnect() {
  const reconnect = state.everConnected;
  state.everConnected = true;
  setStatus(reconnect ? 'syncing…' : 'loading…', 'reconnecting');
  await loadConversations();
  if (reconnect) await syncMessages();
  setStatus('online', 'online');
  if (state.current) markRead(state.current);
}

// Catch up on every conversation whose messages we hold (docs/protocol.md "sync").
async function syncMessages() {
  let cursors = [...state.messages.keys()].filter((id) => state.convs.has(id))
    .map((id) => ({ conversation_id: id, after_seq: contiguousSeq(id) }));
  while (cursors.length) {
    const result = await emit(state.sockets.conv, 'sync', { cursors });
    const next = [];
    for (const item of result.items) {
      for (const m of item.messages) addMessage(m);
      if (item.has_more && item.messages.length) {
        next.push({ conversation_id: item.conversation_id, after_seq: item.messages[item.messages.length - 1].seq });
      }
    }
    cursors = next;
  }
  renderMessages();
}

// The highest seq below which we hold every message: sync resumes there, so a
// hole (messages missed while away) is filled.
function contiguousSeq(id) {
  const map = state.messages.get(id);
  if (!map || !map.size) return 0;
  const seqs = [...map.keys()].sort((a, b) => a - b);
  let seq = seqs[0];
  for (const s of seqs) { if (s > seq + 1) break; seq = s; }
  return seq;
}

// ---------- live events ----------
export function bindChat(s) {
  s.conv.on('connect', act(onConversationsConnect));
  s.presence.on('connect', act(() => subscribePresence([...peerIds()])));
  s.presence.on('presence', (p) => { state.presence.set(p.user_id, p.status); renderList(); renderConvHead(); });
  s.conv.on('conversation:created', (c) => upsertConversation(c, true));
  s.conv.on('conversation:updated', (c) => upsertConversation(c, false));
  s.conv.on('conversation:removed', onConversationRemoved);
  s.conv.on('message:new', act((m) => onMessageNew(s.conv, m)));
  s.conv.on('message:edit', replaceMessage);
  s.conv.on('message:delete', onMessageDeleted);
  s.conv.on('message:read', onMessageRead);
  s.conv.on('typing', onTyping);
}

function onConversationRemoved(e) {
  state.convs.delete(e.conversation_id);
  state.order = state.order.filter((id) => id !== e.conversation_id);
  if (state.current === e.conversation_id) location.hash = '#/conversations';
  renderList();
}

async function onMessageNew(sock, m) {
  if (!state.convs.has(m.conversation_id)) {
    upsertConversation(await emit(sock, 'conversation:get', { conversation_id: m.conversation_id }), true);
  }
  const c = state.convs.get(m.conversation_id);
  const fresh = !(state.messages.get(m.conversation_id) || new Map()).has(m.seq);
  if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
  if (fresh && state.me && m.sender_id !== state.me.id && m.seq > c.read_seq) c.unread_count += 1;
  toTop(c.id);
  clearTyping(m.conversation_id, m.sender_id);
  if (state.messages.has(m.conversation_id)) addMessage(m);
  renderList();
  if (state.current === m.conversation_id) { renderMessages(); markRead(m.conversation_id); }
}

// An edited or deleted message: only replaced where we already show it.
function replaceMessage(m) {
  const map = state.messages.get(m.conversation_id);
  if (map && map.has(m.seq)) map.set(m.seq, m);
  const c = state.convs.get(m.conversation_id);
  if (c && c.last_message && c.last_message.id === m.id) c.last_message = m;
  renderList();
  if (state.current === m.conversation_id) renderMessages();
}

function onMessageDeleted(e) {
  const map = state.messages.get(e.conversation_id);
  const old = map && map.get(e.seq);
  const c = state.convs.get(e.conversation_id);
  const last = c && c.last_message && c.last_message.id === e.message_id ? c.last_message : null;
  const base = old || last;
  if (base) replaceMessage({ ...base, text: '', attachments: [], deleted: true });
}

function onMessageRead(e) {
  const c = state.convs.get(e.conversation_id);
  if (state.me && e.user_id === state.me.id) {
    if (c) { c.read_seq = Math.max(c.read_seq, e.seq); recountUnread(c); }
  } else {
    raisePeerRead(e.conversation_id, e.seq);
  }
  renderList();
  if (state.current === e.conversation_id) renderMessages();
}

function onTyping(e) {
  if (!e.typing) { clearTyping(e.conversation_id, e.user_id); return; }
  const users = state.typing.get(e.conversation_id) || new Map();
  clearTimeout(users.get(e.user_id));
  // A lost typing:false must not leave the indicator on forever.
  users.set(e.user_id, setTimeout(() => clearTyping(e.conversation_id, e.user_id), e.expires_in_ms || 6000));
  state.typing.set(e.conversation_id, users);
  renderTyping();
}

function clearTyping(convId, userId) {
  const users = state.typing.get(convId);
  if (users && users.has(userId)) { clearTimeout(users.get(userId)); users.delete(userId); renderTyping(); }
}

// ---------- the open conversation ----------
export async function openConversation(id) {
  state.current = id;
  state.editing = null;
  if (!state.convs.has(id)) upsertConversation(await emit(state.sockets.conv, 'conversation:get', { conversation_id: id }), false);
  if (!state.messages.has(id)) {
    const page = await emit(state.sockets.conv, 'message:history', { conversation_id: id, limit: 30 });
    state.messages.set(id, new Map());
    page.items.forEach(addMessage);
    state.hasMore.set(id, page.has_more);
  }
  renderConvHead(); renderMessages(); renderTyping(); renderComposer();
  await markRead(id);
  $('#composer-input').focus();
}

async function loadOlder() {
  const id = state.current;
  const before = Math.min(...state.messages.get(id).keys());
  const page = await emit(state.sockets.conv, 'message:history', { conversation_id: id, before_seq: before, limit: 30 });
  page.items.forEach(addMessage);
  state.hasMore.set(id, page.has_more);
  renderMessages();
}

async function markRead(id) {
  const c = state.convs.get(id);
  if (!c || !c.last_seq || (c.read_seq >= c.last_seq && c.unread_count === 0)) return;
  if (!state.sockets.conv.connected) return;
  const r = await emit(state.sockets.conv, 'message:read', { conversation_id: id, seq: c.last_seq });
  c.read_seq = r.read_seq; c.unread_count = r.unread_count;
  renderList();
}

// crypto.randomUUID exists only in secure contexts (not on http://<lan address>).
function newId() {
  return (crypto.randomUUID ? crypto.randomUUID() : Date.now() + '-' + Math.random().toString(16).slice(2));
}

async function submitComposer(ev) {
  ev.preventDefault();
  const input = $('#composer-input');
  const picker = $('#composer-file');
  const file = !state.editing && picker.files[0];
  const text = input.value.trim() || (file ? file.name : '');
  if (!text) return;
  if (state.editing) await saveEdit(text);
  else await send(text, file ? [(await uploadFile(state.current, file)).id] : []);
  input.value = '';
  picker.value = '';
  renderComposer(); renderMessages(); renderList();
}

async function saveEdit(text) {
  addMessage(await emit(state.sockets.conv, 'message:edit', { message_id: state.editing.id, text }));
  state.editing = null;
}

async function send(text, attachments) {
  const id = state.current;
  const m = await emit(state.sockets.conv, 'message:send', { conversation_id: id, client_msg_id: newId(), text, attachments });
  addMessage(m);
  const c = state.convs.get(id);
  if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
  c.read_seq = Math.max(c.read_seq, m.seq);
  toTop(id);
  state.typingSentAt = 0;  // the hub ends our typing state itself on send
}

// typing: true at most every 3 s while typing, false after 4 s idle.
function onComposerInput() {
  if (state.editing || !state.current) return;
  const id = state.current;
  const now = Date.now();
  clearTimeout(state.typingTimer);
  if ($('#composer-input').value.trim() === '') { stopTyping(id); return; }
  if (now - state.typingSentAt > 3000) {
    state.typingSentAt = now;
    emit(state.sockets.conv, 'typing', { conversation_id: id, typing: true }).catch(showError);
  }
  state.typingTimer = setTimeout(() => stopTyping(id), 4000);
}

export function stopTyping(id) {
  clearTimeout(state.typingTimer);
  if (!state.typingSentAt) return;
  state.typingSentAt = 0;
  emit(state.sockets.conv, 'typing', { conversation_id: id, typing: false }).catch(showError);
}

function startEdit(m) {
  state.editing = m;
  $('#composer-input').value = m.text;
  renderComposer();
  $('#composer-input').focus();
}

function cancelEdit() {
  state.editing = null;
  $('#composer-input').value = '';
  renderComposer();
}

async function deleteMessage(m) {
  await emit(state.sockets.conv, 'message:delete', { message_id: m.id });
  addMessage({ ...m, text: '', attachments: [], deleted: true });
  renderMessages();
}

// ---------- rendering ----------
function renderList() {
  const ul = $('#conversations');
  ul.replaceChildren(...state.order.map((id) => state.convs.get(id)).filter(Boolean).map(listItem));
  [...ul.children].forEach((li, i) => { li.dataset.id = state.order[i]; });
  $('#no-conversations').hidden = state.order.length > 0;
}

function listItem(c) {
  const status = convStatus(c);
  const last = c.last_message ? (c.last_message.deleted ? 'message deleted' : `${userName(c.last_message.sender_id)}: ${c.last_message.text}`) : 'no messages yet';
  const badge = c.unread_count ? el('span', { className: 'badge unread', textContent: String(c.unread_count), title: `${c.unread_count} unread` }) : el('span');
  const button = el('button', { type: 'button', className: 'conv-item' },
    el('span', { className: 'dot ' + status, title: status, ariaLabel: status }),
    el('span', { className: 'name', textContent: convTitle(c) }), badge,
    el('span', { className: 'last', textContent: last }));
  button.addEventListener('click', () => { location.hash = '#/c/' + c.id; });
  return el('li', { className: 'conv' }, button);
}

function renderConvHead() {
  const c = state.current && state.convs.get(state.current);
  if (!c) return;
  $('#conv-title').textContent = convTitle(c);
  const status = convStatus(c);
  const dot = $('#conv-dot');
  dot.className = 'dot ' + status; dot.title = status; dot.setAttribute('aria-label', status);
  renderContextLink(c);
}

// A conversation about a job or a bid links back to the job's page.
function renderContextLink(c) {
  const link = $('#conv-context');
  const ctx = c.context;
  const jobId = !ctx ? null : ctx.type === 'job' ? ctx.id : ctx.type === 'bid' ? state.bidJobs.get(ctx.id) : null;
  link.hidden = !jobId;
  if (jobId) {
    link.href = '#/jobs/' + encodeURIComponent(jobId);
    link.textContent = ctx.type === 'bid' ? 'About a bid: view the job' : 'About a job: view it';
  }
  if (ctx && ctx.type === 'bid' && !state.bidJobs.has(ctx.id)) {
    state.bidJobs.set(ctx.id, null);
    // The hub stores a context as given; an unknown bid just gets no link.
    api('GET', '/bids/' + encodeURIComponent(ctx.id))
      .then((bid) => { state.bidJobs.set(ctx.id, bid.job_id); renderConvHead(); })
      .catch(() => {});
  }
}

function renderMessages() {
  const id = state.current;
  const map = state.messages.get(id);
  if (!id || !map) return;
  const peerRead = state.peerRead.get(id) || 0;
  const list = $('#messages');
  list.replaceChildren(...[...map.values()].sort((a, b) => a.seq - b.seq).map((m) => messageItem(m, peerRead)));
  $('#load-older').hidden = !state.hasMore.get(id);
  // Paging back must not jump to the newest message.
  if (!state.loadingOlder) list.lastElementChild && list.lastElementChild.scrollIntoView({ block: 'nearest' });
}

function messageItem(m, peerRead) {
  const mine = state.me && m.sender_id === state.me.id;
  const meta = el('span', { className: 'meta' },
    el('span', { className: 'who', textContent: userName(m.sender_id) }),
    el('time', { textContent: new Date(m.created_at).toLocaleTimeString() }),
    m.edited_at && !m.deleted ? el('span', { className: 'edited', textContent: 'edited' }) : null);
  if (mine) {
    meta.append(el('span', { className: 'receipt', textContent: peerRead >= m.seq ? '✓✓ Read' : '✓ Sent' }));
    if (!m.deleted) meta.append(...messageButtons(m));
  }
  const li = el('li', { className: 'msg' + (mine ? ' mine' : '') + (m.deleted ? ' deleted' : '') },
    el('div', { className: 'text', textContent: m.deleted ? 'message deleted' : m.text }),
    m.deleted ? null : attachmentList(m.attachments), meta);
  li.dataset.seq = String(m.seq);
  return li;
}

function messageButtons(m) {
  const edit = el('button', { type: 'button', className: 'edit', textContent: 'Edit' });
  edit.addEventListener('click', () => startEdit(m));
  const del = el('button', { type: 'button', className: 'delete', textContent: 'Delete' });
  del.addEventListener('click', act(() => deleteMessage(m)));
  return [edit, del];
}

function renderTyping() {
  const users = state.current && state.typing.get(state.current);
  const names = users ? [...users.keys()].map(userName) : [];
  $('#typing').textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}

function renderComposer() {
  const editing = !!state.editing;
  $('#composer-label').textContent = editing ? 'Edit message (Esc cancels)' : 'Message';
  $('#composer-send').textContent = editing ? 'Save' : 'Send';
  $('#composer-cancel').hidden = !editing;
}

onProfile(() => { renderList(); renderConvHead(); renderMessages(); });

$('#new-conv-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const userId = ev.target.user_id.value.trim();
  const c = await emit(state.sockets.conv, 'conversation:create', { participant_ids: [userId] });
  upsertConversation(c, !state.convs.has(c.id));
  ev.target.reset();
  location.hash = '#/c/' + c.id;
}));
$('#composer').addEventListener('submit', act(submitComposer));
$('#composer-input').addEventListener('input', onComposerInput);
$('#composer-input').addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.editing) cancelEdit(); });
$('#composer-cancel').addEventListener('click', cancelEdit);
$('#load-older').addEventListener('click', act(async () => {
  state.loadingOlder = true;
  try { await loadOlder(); } finally { state.loadingOlder = false; }
}));
