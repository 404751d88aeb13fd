// Conversations (/conversations + /presence): the list with unread badges and
// presence dots, and the open conversation with history, send / edit / delete,
// read receipts, typing, reactions, pins and threads. Protocol: docs/protocol.md.
import { state } from './state.js';
import { $, el, act, onSubmit, showError, setStatus } from './ui.js';
import { api } from './api.js';
import { emit } from './socket.js';
import { userName, onProfile } from './users.js';
import { attachmentList } from './files.js';
import { reportButton } from './report.js';
import { authorOf, previewText, systemItem, cardItem } from './cards.js';
import { others, convTitle, convStatus, renderList, renderFlags, whenConversationChanges } from './convlist.js';
import { readyAttachments, filesSent, resetComposer, showComposerError, clearComposerError, showMaskedNotice, sendErrorText } from './composer.js';
import { bindConnection, connectionBack } from './connection.js';

export { others, convTitle };

const QUICK_EMOJI = ['👍', '❤️', '😂', '🎉', '👀', '🙏'];

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

// Sent / delivered / read: the ticks are decoration, the word is what a
// screen reader says (the text stays "✓✓ Read" and the like).
function receipt(m) {
  const [ticks, word] = (state.peerRead.get(m.conversation_id) || 0) >= m.seq ? ['✓✓', 'Read']
    : (state.peerDelivered.get(m.conversation_id) || 0) >= m.seq ? ['✓✓', 'Delivered'] : ['✓', 'Sent'];
  const icon = el('span', { textContent: ticks });
  icon.setAttribute('aria-hidden', 'true');
  return el('span', { className: 'receipt ' + word.toLowerCase(), title: word }, icon, ' ' + word);
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

// The pins list of a conversation we show, as the hub has it now.
async function loadPins(convId) {
  if (!state.pins.has(convId)) return;
  state.pins.set(convId, (await emit(state.sockets.conv, 'conversation:pins', { conversation_id: convId })).items);
  if (state.current === convId) renderPins();
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
  state.thread = null;
  state.picker = null;
  state.pinsOpen = false;
  if (!state.convs.has(id)) upsertConversation(await emit(state.sockets.conv, 'conversation:get', { conversation_id: id }), false);
  if (!state.messages.has(id)) {
    await startChangeFeed(state.convs.get(id));
    const page = await emit(state.sockets.conv, 'message:history', { conversation_id: id, limit: 30 });
    state.messages.set(id, new Map());
    page.items.forEach(addMessage);
    state.hasMore.set(id, page.has_more);
  }
  renderConvHead(); renderMessages(); renderTyping(); renderComposer(); resetComposer();
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

async function send(text, attachments, threadRootId) {
  const id = state.current;
  const payload = { conversation_id: id, client_msg_id: newId(), text, attachments };
  const mentions = mentionedIn(text, state.convs.get(id));
  if (mentions.length) payload.mentions = mentions;
  if (threadRootId) payload.thread_root_id = threadRootId;
  const m = await emit(state.sockets.conv, 'message:send', payload);
  if (m.masked) showMaskedNotice();
  const fresh = addMessage(m);
  if (fresh) noteReply(m);
  const c = state.convs.get(id);
  if (fresh) unarchive(c);
  if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
  c.read_seq = Math.max(c.read_seq, m.seq);
  toTop(id);
  state.typingSentAt = 0;  // the hub ends our typing state itself on send
}

// "@Name" of a participant in the text: they get a mention (docs/protocol.md).
function mentionedIn(text, c) {
  if (!c || !text.includes('@')) return [];
  return others(c).filter((id) => {
    const name = userName(id);
    return name && text.includes('@' + name);
  });
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
  updateHeld(m.conversation_id, m.id, tombstone);
  redraw(m.conversation_id, true);
}

// ---------- reactions, pins and threads ----------
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

// Jumps to a pinned message: into its thread for a reply, else in the list.
function showPinned(m) {
  state.pinsOpen = false;
  const held = [...(state.messages.get(m.conversation_id) || new Map()).values()];
  const root = m.thread_root_id && held.find((x) => x.id === m.thread_root_id);
  if (root) return openThread(root);
  state.thread = null;
  renderMessages(true); renderPins();
  const item = $(`#messages [data-seq="${m.seq}"]`);
  if (item) item.scrollIntoView({ block: 'center' });
}

async function openThread(root) {
  state.thread = { convId: root.conversation_id, root };
  state.picker = null;
  if (!state.threads.has(root.id)) await loadThread(root);
  renderMessages(true); renderPins();
  $('#thread-input').focus();
}

// Every reply of the thread, plus those the open list got meanwhile.
async function loadThread(root) {
  const replies = new Map();
  let page = { items: [], has_more: true };
  let after = 0;
  while (page.has_more) {
    page = await emit(state.sockets.conv, 'message:thread', { message_id: root.id, after_seq: after, limit: 100 });
    page.items.forEach((m) => replies.set(m.seq, m));
    if (!page.items.length) break;
    after = page.items[page.items.length - 1].seq;
  }
  for (const m of (state.messages.get(root.conversation_id) || new Map()).values()) {
    if (m.thread_root_id === root.id) replies.set(m.seq, m);
  }
  state.threads.set(root.id, replies);
}

function closeThread() {
  state.thread = null;
  renderMessages();
  $('#composer-input').focus();
}

async function submitThreadReply() {
  const input = $('#thread-input');
  const text = input.value.trim();
  if (!text || !state.thread) return;
  await send(text, [], state.thread.root.id);
  input.value = '';
  renderMessages(); renderList();
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

// "📌 N pinned" under the title; opens the list, most recently pinned first.
function renderPins() {
  const pins = (state.pins.get(state.current) || []).filter((m) => m.pinned && !m.deleted);
  $('#conv-pins').hidden = !pins.length;
  const toggle = $('#pins-toggle');
  toggle.textContent = `📌 ${pins.length} pinned`;
  toggle.setAttribute('aria-expanded', String(!!state.pinsOpen));
  $('#pins-list').hidden = !state.pinsOpen;
  $('#pins-list').replaceChildren(...pins.map((m) => el('li', {}, button('pinned-item', previewText(m), () => showPinned(m)))));
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

function renderThread() {
  const t = state.thread && state.thread.convId === state.current ? state.thread : null;
  $('#thread').hidden = !t;
  $('#conv-main').hidden = !!t;
  if (!t) return null;
  const replies = [...(state.threads.get(t.root.id) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  $('#thread-root').replaceChildren(messageItem(t.root, true));
  $('#thread-count').textContent = replyLabel(replies.length);
  const list = $('#thread-messages');
  list.replaceChildren(...replies.map((m) => messageItem(m, true)));
  return list;
}

const replyLabel = (n) => (n === 1 ? '1 reply' : `${n} replies`);

function messageItem(m, inThread) {
  // A system line stays quiet: its reactions, and Unpin if someone pinned it.
  if (m.kind === 'system') {
    return systemItem(m, [pinMark(m), m.deleted ? null : reactionRow(m, false),
      m.pinned ? button('pin', 'Unpin', () => setPinned(m, false)) : null]);
  }
  if (m.kind === 'card') return cardItem(m, [pinMark(m), ...messageExtras(m, inThread)]);
  const mine = state.me && m.sender_id === state.me.id;
  const meta = el('span', { className: 'meta' },
    el('span', { className: 'who', textContent: userName(authorOf(m)) }),
    el('time', { textContent: new Date(m.created_at).toLocaleTimeString() }),
    m.edited_at && !m.deleted ? el('span', { className: 'edited', textContent: 'edited' }) : null, pinMark(m));
  if (mine) {
    meta.append(receipt(m));
    if (!m.deleted) meta.append(...messageButtons(m, inThread));
  } else if (!m.deleted && m.sender_id) meta.append(reportButton(m));
  const toMe = state.me && (m.mentions || []).includes(state.me.id);
  const li = el('li', { className: 'msg' + (mine ? ' mine' : '') + (toMe ? ' mentions-me' : '') + (m.deleted ? ' deleted' : '') + (m.pinned ? ' pinned' : '') },
    el('div', { className: 'text', textContent: m.deleted ? 'message deleted' : m.text }),
    m.deleted ? null : attachmentList(m.attachments), meta, ...messageExtras(m, inThread));
  li.dataset.seq = String(m.seq);
  return li;
}

// Reactions, the thread link and the reply / pin actions of a message.
function messageExtras(m, inThread) {
  if (m.deleted) return [];
  const canThread = !inThread && !m.thread_root_id;
  const row = reactionRow(m, true);
  if (canThread) row.append(button('reply', 'Reply in thread', () => openThread(m)));
  row.append(button('pin', m.pinned ? 'Unpin' : 'Pin', () => setPinned(m, !m.pinned)));
  if (!inThread && state.me && authorOf(m) !== state.me.id) row.append(button('mark-unread', 'Mark unread', () => markUnread(m)));
  return [row, canThread && m.reply_count > 0 ? button('replies', replyLabel(m.reply_count), () => openThread(m)) : null];
}

const button = (className, text, onClick) => {
  const b = el('button', { type: 'button', className, textContent: text });
  b.addEventListener('click', act(onClick));
  return b;
};

const pinMark = (m) => (m.pinned && !m.deleted
  ? el('span', { className: 'pin-mark', textContent: '📌 Pinned', title: m.pinned_by ? 'Pinned by ' + userName(m.pinned_by) : 'Pinned' })
  : null);

// One chip per emoji (pressed when it is ours; a click toggles ours), then
// "+" and, while open, the quick picker.
function reactionRow(m, canAdd) {
  const reactions = m.reactions || [];
  if (!reactions.length && !canAdd) return null;
  const row = el('div', { className: 'reactions' }, ...reactions.map((r) => {
    const chip = button('reaction' + (r.me ? ' me' : ''), `${r.emoji} ${r.count}`, () => toggleReaction(m, r.emoji));
    chip.dataset.emoji = r.emoji;
    chip.setAttribute('aria-pressed', String(!!r.me));
    chip.title = r.me ? `You reacted with ${r.emoji}: click to take it back` : `React with ${r.emoji}`;
    return chip;
  }));
  if (!canAdd) return row;
  const add = button('react-add', '+', () => togglePicker(m));
  add.setAttribute('aria-label', 'Add a reaction');
  add.setAttribute('aria-expanded', String(state.picker === m.id));
  row.append(add);
  if (state.picker === m.id) {
    row.append(el('span', { className: 'emoji-picker' }, ...QUICK_EMOJI.map((emoji) => {
      const choice = button('emoji-choice', emoji, () => toggleReaction(m, emoji));
      choice.setAttribute('aria-label', 'React with ' + emoji);
      return choice;
    })));
  }
  return row;
}

// Editing happens in the main composer, so a thread offers only Delete.
function messageButtons(m, inThread) {
  const del = el('button', { type: 'button', className: 'delete', textContent: 'Delete' });
  del.addEventListener('click', act(() => deleteMessage(m)));
  if (inThread) return [del];
  const edit = el('button', { type: 'button', className: 'edit', textContent: 'Edit' });
  edit.addEventListener('click', () => startEdit(m));
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

// ---------- system and card messages ----------
onProfile(() => { renderList(); renderConvHead(); renderMessages(); });

whenConversationChanges(upsertConversation);
onSubmit($('#composer'), submitComposer);  // a refused text (too long, say) shows at the field
$('#composer-input').addEventListener('input', onComposerInput);
$('#composer-input').addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.editing) cancelEdit(); });
$('#composer-cancel').addEventListener('click', cancelEdit);
onSubmit($('#thread-composer'), submitThreadReply);
$('#thread-close').addEventListener('click', closeThread);
$('#pins-toggle').addEventListener('click', () => { state.pinsOpen = !state.pinsOpen; renderPins(); });
$('#load-older').addEventListener('click', act(async () => {
  state.loadingOlder = true;
  try { await loadOlder(); } finally { state.loadingOlder = false; }
}));
