// Conversations (/conversations + /presence): the store, its load and its sync
// after a reconnect, presence, the live events, and the open conversation with
// history, send / edit / delete, read receipts, reactions, pins and threads.
// Drawn by messages.js (each message), thread.js (the thread pane), pins.js
// (the pins list) and typing.js (typing); they get what they call back here
// through a registration (below), not by importing this module. Protocol:
// docs/protocol.md.
import { state } from './state.js';
import { $, act, onSubmit, showError, setStatus } from './ui.js';
import { api } from './api.js';
import { emit } from './socket.js';
import { userName, onProfile } from './users.js';
import { messageItem, onMessageAction } from './messages.js';
import { authorOf } from './cards.js';
import { others, convTitle, convStatus, renderList, renderFlags, whenConversationChanges } from './convlist.js';
import { readyAttachments, filesSent, resetComposer, showComposerError, clearComposerError, showMaskedNotice, sendErrorText } from './composer.js';
import { bindConnection, connectionBack } from './connection.js';
import { onTyping, clearTyping, renderTyping, stopTyping } from './typing.js';
import { openThread, renderThread, bindThread } from './thread.js';
import { renderPins, loadPins, bindPins } from './pins.js';

export { others, convTitle, stopTyping };

// Views beside the conversation view that show a conversation's messages (the
// bid's conversation on the job page, bidchat.js) register fn(convId) here: it is
// called when that conversation, its messages or its receipts changed (convId
// null: any of them, after a load or a sync).
const watchers = [];
export function onConversationChanged(fn) { watchers.push(fn); }
const changed = (convId) => { for (const fn of watchers) act(fn)(convId); };  // a view's failure is shown, the event still handled

// ---------- the conversation store ----------
function peerIds() {
  const ids = new Set();
  for (const c of state.convs.values()) others(c).forEach((id) => ids.add(id));
  return ids;
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
  changed(c.id);
}

// Receipts: the highest read and delivered markers of the others. The
// Conversation's receipts give them on load (and after a reconnect),
// message:read and message:delivered events live.
function notePeerReads(c) {
  const peers = new Set(others(c));
  const receipts = (c.receipts || []).filter((r) => peers.has(r.user_id));
  raisePeer(state.peerRead, c.id, Math.max(0, ...receipts.map((r) => r.read_seq)));
  raisePeer(state.peerDelivered, c.id, Math.max(0, ...receipts.map((r) => r.delivered_seq)));
  if (state.current === c.id) renderMessages();
}

function raisePeer(markers, convId, seq) {
  markers.set(convId, Math.max(markers.get(convId) || 0, seq));
}

// Tell the senders this device received the conversation up to `seq`.
function acknowledge(convId, seq) {
  emit(state.sockets.conv, 'message:delivered', { conversation_id: convId, seq }).catch(() => {});
}

// Holds a message of the open list (thread replies too: one seq space, so
// sync and paging see no holes; the list shows replies only in their thread).
// Returns whether it is new to us.
function addMessage(m) {
  let map = state.messages.get(m.conversation_id);
  if (!map) { map = new Map(); state.messages.set(m.conversation_id, map); }
  const fresh = !map.has(m.seq);
  map.set(m.seq, m);
  const replies = m.thread_root_id && state.threads.get(m.thread_root_id);
  if (replies) replies.set(m.seq, m);
  return fresh;
}

// Every copy we hold of message `id` (the open list, a thread, the list
// preview) becomes fn(copy): events and sync changes apply by id.
function updateHeld(convId, id, fn) {
  const maps = [state.messages.get(convId), ...state.threads.values()].filter(Boolean);
  for (const map of maps) for (const [seq, m] of map) if (m.id === id) map.set(seq, fn(m));
  const c = state.convs.get(convId);
  if (c && c.last_message && c.last_message.id === id) c.last_message = fn(c.last_message);
  if (state.thread && state.thread.root.id === id) state.thread.root = fn(state.thread.root);
  const pins = state.pins.get(convId) || [];
  pins.forEach((m, i) => { if (m.id === id) pins[i] = fn(m); });
}

// A new reply in a thread: no event updates the root, so count it here.
function noteReply(m) {
  if (!m.thread_root_id) return;
  updateHeld(m.conversation_id, m.thread_root_id,
    (root) => ({ ...root, reply_count: (root.reply_count || 0) + 1, last_reply_at: m.created_at }));
}

function recountUnread(c) {
  const map = state.messages.get(c.id);
  if (!map) { if (c.read_seq >= c.last_seq) c.unread_count = c.unread_mentions = 0; return; }
  const unread = [...map.values()].filter((m) => m.seq > c.read_seq && !m.deleted && authorOf(m) !== state.me.id);
  c.unread_count = unread.length;
  c.unread_mentions = unread.filter((m) => (m.mentions || []).includes(state.me.id)).length;
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
  changed(null);
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
  if (reconnect) connectionBack();
  if (state.current) markRead(state.current);
}

// Catch up on every conversation whose messages we hold (docs/protocol.md
// "sync"): the messages missed, and the changes (edits, reactions, pins,
// thread counts) after the rev of the previous sync.
async function syncMessages() {
  let cursors = [...state.messages.keys()].filter((id) => state.convs.has(id))
    .map((id) => ({ conversation_id: id, after_seq: contiguousSeq(id), after_rev: state.revs.get(id) }));
  while (cursors.length) {
    const result = await emit(state.sockets.conv, 'sync', { cursors });
    const next = [];
    result.items.forEach((item, i) => {
      applySync(item);
      const last = item.messages.length ? item.messages[item.messages.length - 1].seq : cursors[i].after_seq;
      if (item.has_more && (item.messages.length || item.changes.length)) {
        next.push({ conversation_id: item.conversation_id, after_seq: last, after_rev: item.rev });
      }
    });
    cursors = next;
  }
  renderMessages(); renderPins();
  changed(null);
}

function applySync(item) {
  const id = item.conversation_id;
  item.messages.forEach(addMessage);
  const received = item.messages.filter((m) => authorOf(m) !== state.me.id);
  if (received.length) acknowledge(id, received[received.length - 1].seq);
  for (const m of item.changes) updateHeld(id, m.id, () => m);
  applyPins(id, item.pins || []);
  state.pins.set(id, item.pins || []);
  state.revs.set(id, item.rev);
}

// The pins list as it is now: pinned ones replace our copies, the others are not pinned.
function applyPins(convId, pins) {
  const pinned = new Set(pins.map((m) => m.id));
  for (const m of pins) updateHeld(convId, m.id, () => m);
  const held = [state.messages.get(convId), ...state.threads.values()].filter(Boolean).flatMap((map) => [...map.values()]);
  for (const m of held) {
    if (m.conversation_id === convId && m.pinned && !pinned.has(m.id)) {
      updateHeld(convId, m.id, (old) => ({ ...old, pinned: false, pinned_at: null, pinned_by: null }));
    }
  }
}

// Where the change feed starts for a conversation: sync without after_rev
// answers its current rev. Asked before loading history, so no change is lost.
async function startChangeFeed(c) {
  const result = await emit(state.sockets.conv, 'sync', { cursors: [{ conversation_id: c.id, after_seq: c.last_seq }], limit: 1 });
  state.revs.set(c.id, result.items[0].rev);
  state.pins.set(c.id, result.items[0].pins || []);
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
  bindConnection(s);
  s.conv.on('connect', act(onConversationsConnect));
  s.presence.on('connect', act(() => subscribePresence([...peerIds()])));
  s.presence.on('presence', (p) => { state.presence.set(p.user_id, p.status); renderList(); renderConvHead(); });
  s.conv.on('conversation:created', (c) => upsertConversation(c, true));
  s.conv.on('conversation:updated', (c) => upsertConversation(c, false));
  s.conv.on('conversation:removed', onConversationRemoved);
  s.conv.on('message:new', act((m) => onMessageNew(s.conv, m)));
  s.conv.on('message:edit', replaceMessage);
  s.conv.on('message:delete', onMessageDeleted);
  s.conv.on('message:reaction', onReaction);
  s.conv.on('message:pinned', act(onPinned));
  s.conv.on('message:read', onMessageRead);
  s.conv.on('message:delivered', onMessageDelivered);
  s.conv.on('typing', onTyping);
}

function onConversationRemoved(e) {
  state.convs.delete(e.conversation_id);
  state.order = state.order.filter((id) => id !== e.conversation_id);
  if (state.current === e.conversation_id) location.hash = '#/conversations';
  renderList();
  changed(e.conversation_id);
}

async function onMessageNew(sock, m) {
  if (!state.convs.has(m.conversation_id)) {
    upsertConversation(await emit(sock, 'conversation:get', { conversation_id: m.conversation_id }), true);
  }
  const c = state.convs.get(m.conversation_id);
  const fresh = !(state.messages.get(m.conversation_id) || new Map()).has(m.seq);
  if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
  if (fresh) unarchive(c);
  const fromOthers = state.me && authorOf(m) !== state.me.id;
  if (fresh && fromOthers && m.seq > c.read_seq) {
    c.unread_count += 1;
    if ((m.mentions || []).includes(state.me.id)) c.unread_mentions = (c.unread_mentions || 0) + 1;
  }
  if (fresh && fromOthers) acknowledge(c.id, m.seq);
  toTop(c.id);
  if (m.sender_id) clearTyping(m.conversation_id, m.sender_id);
  if (state.messages.has(m.conversation_id)) addMessage(m);
  if (fresh) noteReply(m);
  renderList();
  if (state.current === m.conversation_id) { renderMessages(); markRead(m.conversation_id); }
  changed(m.conversation_id);
}

// A new message unarchives the conversation unless it is muted (no event says
// so: docs/protocol.md "conversation:list").
function unarchive(c) {
  if (c.archived && !c.muted) c.archived = false;
}

// A changed message (edited, reacted to, pinned): only replaced where we
// already show it. `stay`: keep the scroll position.
function replaceMessage(m, stay) {
  updateHeld(m.conversation_id, m.id, () => m);
  redraw(m.conversation_id, stay);
}

function redraw(convId, stay) {
  renderList();
  if (state.current === convId) { renderMessages(stay); renderPins(); }
  changed(convId);
}

const tombstone = (m) => ({ ...m, text: '', attachments: [], mentions: [], reactions: [], deleted: true, pinned: false });

function onMessageDeleted(e) {
  updateHeld(e.conversation_id, e.message_id, tombstone);
  redraw(e.conversation_id, true);
}

// Reactions come as the recipient's own view (`me`).
function onReaction(e) {
  updateHeld(e.conversation_id, e.message_id, (m) => ({ ...m, reactions: e.reactions }));
  redraw(e.conversation_id, true);
}

async function onPinned(e) {
  updateHeld(e.conversation_id, e.message_id, (m) => ({ ...m, pinned: e.pinned,
    pinned_by: e.pinned ? e.by_user_id : null, pinned_at: e.pinned ? (m.pinned_at || new Date().toISOString()) : null }));
  redraw(e.conversation_id, true);
  await loadPins(e.conversation_id);
}

function onMessageDelivered(e) {
  raisePeer(state.peerDelivered, e.conversation_id, e.seq);
  if (state.current === e.conversation_id) renderMessages(true);
  changed(e.conversation_id);
}

function onMessageRead(e) {
  const c = state.convs.get(e.conversation_id);
  if (state.me && e.user_id === state.me.id) {
    if (c) { c.read_seq = Math.max(c.read_seq, e.seq); recountUnread(c); }
  } else {
    raisePeer(state.peerRead, e.conversation_id, e.seq);
  }
  renderList();
  if (state.current === e.conversation_id) renderMessages();
  changed(e.conversation_id);
}

// ---------- the open conversation ----------
export async function openConversation(id) {
  state.current = id;
  state.editing = null;
  state.thread = null;
  state.picker = null;
  state.pinsOpen = false;
  if (!state.convs.has(id)) upsertConversation(await emit(state.sockets.conv, 'conversation:get', { conversation_id: id }), false);
  await loadHistory(id);
  renderConvHead(); renderMessages(); renderTyping(); renderComposer(); resetComposer();
  await markRead(id);
  $('#composer-input').focus();
}

// The conversation (asked for when not in the list yet) and its latest 30
// messages in the store, once: later messages come live and by sync. One load
// per conversation, however many views ask at once.
const loading = new Map();  // conversation id -> the load under way
export function loadHistory(id) {
  if (state.messages.has(id)) return Promise.resolve();
  if (!loading.has(id)) loading.set(id, fetchHistory(id).finally(() => loading.delete(id)));
  return loading.get(id);
}

async function fetchHistory(id) {
  const sock = state.sockets.conv;
  if (!state.convs.has(id)) upsertConversation(await emit(sock, 'conversation:get', { conversation_id: id }), false);
  await startChangeFeed(state.convs.get(id));
  const page = await emit(sock, 'message:history', { conversation_id: id, limit: 30 });
  state.messages.set(id, new Map());
  page.items.forEach(addMessage);
  state.hasMore.set(id, page.has_more);
  // A message:new that came while the page was on its way was not stored (the
  // conversation had no messages held yet) but moved last_seq: ask again.
  const c = state.convs.get(id);
  if (c && c.last_seq > Math.max(0, ...page.items.map((m) => m.seq))) {
    (await emit(sock, 'message:history', { conversation_id: id, limit: 30 })).items.forEach(addMessage);
  }
}

async function loadOlder() {
  const id = state.current;
  const before = Math.min(...state.messages.get(id).keys());
  const page = await emit(state.sockets.conv, 'message:history', { conversation_id: id, before_seq: before, limit: 30 });
  page.items.forEach(addMessage);
  state.hasMore.set(id, page.has_more);
  renderMessages();
}

export async function markRead(id) {
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

let sending = false;

// Sends the text with the files uploaded for it (waiting for uploads still
// running); a message without text is named after its files. A policy refusal
// (403 contact_details) shows next to the composer and keeps the text.
async function submitComposer() {
  if (sending) return;
  const input = $('#composer-input');
  if (state.editing) {
    const text = input.value.trim();
    if (!text) return;
    await saveEdit(text);
  } else {
    const id = state.current;
    sending = true;
    try {
      const files = await readyAttachments();
      if (!files) return;
      const text = input.value.trim() || files.map((a) => a.name).join(', ');
      if (!text) return;
      clearComposerError();
      try {
        await send(text, files.map((a) => a.id));
      } catch (err) {
        if (err.code !== 'contact_details') throw err;
        showComposerError('Not sent: ' + sendErrorText(err));
        return;
      }
      filesSent(id, files);
    } finally {
      sending = false;
    }
  }
  input.value = '';
  renderComposer(); renderMessages(); renderList();
}

async function saveEdit(text) {
  addMessage(await emit(state.sockets.conv, 'message:edit', { message_id: state.editing.id, text }));
  state.editing = null;
}

// Sends to the open conversation, or to convId (the bid's conversation beside the
// bid, bidchat.js); answers the Message.
export async function send(text, attachments, threadRootId, convId) {
  const id = convId || state.current;
  const payload = { conversation_id: id, client_msg_id: newId(), text, attachments };
  const mentions = mentionedIn(text, state.convs.get(id));
  if (mentions.length) payload.mentions = mentions;
  if (threadRootId) payload.thread_root_id = threadRootId;
  const m = await emit(state.sockets.conv, 'message:send', payload);
  if (m.masked && id === state.current) showMaskedNotice();
  const fresh = addMessage(m);
  if (fresh) noteReply(m);
  const c = state.convs.get(id);
  if (fresh) unarchive(c);
  if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
  c.read_seq = Math.max(c.read_seq, m.seq);
  toTop(id);
  state.typingSentAt = 0;  // the hub ends our typing state itself on send
  changed(id);
  return m;
}

// "@Name" of a participant in the text: they get a mention (docs/protocol.md).
function mentionedIn(text, c) {
  if (!c || !text.includes('@')) return [];
  return others(c).filter((id) => {
    const name = userName(id);
    return name && text.includes('@' + name);
  });
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
  updateHeld(m.conversation_id, m.id, tombstone);
  redraw(m.conversation_id, true);
}

// ---------- what the buttons of a message do (messages.js) ----------
async function toggleReaction(m, emoji) {
  const mine = (m.reactions || []).some((r) => r.emoji === emoji && r.me);
  state.picker = null;
  const event = mine ? 'reaction:remove' : 'reaction:add';
  replaceMessage(await emit(state.sockets.conv, event, { message_id: m.id, emoji }), true);
}

function togglePicker(m) {
  state.picker = state.picker === m.id ? null : m.id;
  renderMessages(true);
}

// Unread again from this message on (conversation:mark_unread), then back to
// the list, which shows the count: staying would read it at once.
async function markUnread(m) {
  const c = await emit(state.sockets.conv, 'conversation:mark_unread', { conversation_id: m.conversation_id, seq: m.seq });
  upsertConversation(c, false);
  window.addEventListener('hashchange', () => {
    const item = $(`#conversations li[data-id="${CSS.escape(c.id)}"] .conv-item`);
    if (item) item.focus();
  }, { once: true });
  location.hash = '#/conversations';
}

async function setPinned(m, pinned) {
  replaceMessage(await emit(state.sockets.conv, 'message:pin', { message_id: m.id, pinned }), true);
  await loadPins(m.conversation_id);
}

// ---------- rendering ----------
function renderConvHead() {
  const c = state.current && state.convs.get(state.current);
  if (!c) return;
  $('#conv-title').textContent = convTitle(c);
  const status = convStatus(c);
  const dot = $('#conv-dot');
  dot.className = 'dot ' + status; dot.title = status; dot.setAttribute('aria-label', status);
  renderContextLink(c);
  renderFlags(c);
  renderPins();
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

// The open conversation, or its open thread. `stay`: keep the scroll position
// (a reaction or a pin changed, nothing new arrived).
function renderMessages(stay) {
  const id = state.current;
  const map = state.messages.get(id);
  if (!id || !map) return;
  const list = $('#messages');
  const main = [...map.values()].filter((m) => !m.thread_root_id).sort((a, b) => a.seq - b.seq);
  list.replaceChildren(...main.map((m) => messageItem(m, false)));
  $('#load-older').hidden = !state.hasMore.get(id);
  const thread = renderThread();
  // Paging back must not jump to the newest message.
  const newest = (thread || list).lastElementChild;
  if (!state.loadingOlder && !stay && newest) newest.scrollIntoView({ block: 'nearest' });
}

function renderComposer() {
  const editing = !!state.editing;
  $('#composer-label').textContent = editing ? 'Edit message (Esc cancels)' : 'Message';
  $('#composer-send').textContent = editing ? 'Save' : 'Send';
  $('#composer-cancel').hidden = !editing;
}

// ---------- wiring ----------
onMessageAction({ toggleReaction, togglePicker, setPinned, openThread, markUnread, deleteMessage, startEdit });
bindThread({ renderMessages, renderPins, send });
bindPins(renderMessages);
onProfile(() => { renderList(); renderConvHead(); renderMessages(); });

whenConversationChanges(upsertConversation);
onSubmit($('#composer'), submitComposer);  // a refused text (too long, say) shows at the field
$('#composer-input').addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.editing) cancelEdit(); });
$('#composer-cancel').addEventListener('click', cancelEdit);
$('#load-older').addEventListener('click', act(async () => {
  state.loadingOlder = true;
  try { await loadOlder(); } finally { state.loadingOlder = false; }
}));
