// The bid's conversation beside the bid, on the job page (issue 21): for the
// job's owner and the bidder only, the latest messages of the bid's
// conversation, kept live, a one-line reply, and "Open the full conversation"
// (#/c/<id>); a bid with no conversation yet offers "Start the conversation",
// which opens it without leaving the page. The messages are chat.js's store
// (loadHistory, send, markRead; onConversationChanged says when to redraw) drawn
// by messages.js (messageItem, compact). Shown messages are read: the panel
// marks the conversation read while the job page shows it (docs/web-client.md).
import { state } from './state.js';
import { $, el, act, onSubmit, showError } from './ui.js';
import { emit } from './socket.js';
import { userName } from './users.js';
import { messageItem } from './messages.js';
import { upsertConversation, loadHistory, send, markRead, onConversationChanged } from './chat.js';
import { MASKED_TEXT, sendErrorText } from './composer.js';

const SHOWN = 5;  // the latest messages beside the bid
const panels = new Map();  // bid id -> {job, bid, convId, node, ...}: one panel per bid, kept across redraws of the page

const isBidOf = (bid) => (c) => c && c.context && c.context.type === 'bid' && c.context.id === bid.id;

// Whether the viewer is a party to the bid: the job's owner or the bidder.
export const bidParty = (job, bid) => !!state.me && (job.owner_id === state.me.id || bid.freelancer_id === state.me.id);

// The bid's conversation's id, when it has one: the one an accepted bid names,
// the one this panel started, or one in the list with the bid's context.
function conversationOf(p) {
  if (p.bid.conversation_id) return p.bid.conversation_id;
  if (p.convId) return p.convId;
  const c = [...state.convs.values()].find(isBidOf(p.bid));
  return c ? c.id : null;
}

// The bid's conversation, between the job's owner and the bidder: the one the bid
// names or one already here with the bid's context; otherwise a create with the
// bid's context, which returns the bid's one conversation, opening it if needed
// (the hub picks a direct conversation or a group of two).
export async function bidConversation(job, bid) {
  const sock = state.sockets.conv;
  state.bidJobs.set(bid.id, job.id);
  let c = bid.conversation_id ? await emit(sock, 'conversation:get', { conversation_id: bid.conversation_id })
    : [...state.convs.values()].find(isBidOf(bid));
  if (!c) {
    const peer = state.me.id === bid.freelancer_id ? job.owner_id : bid.freelancer_id;
    c = await emit(sock, 'conversation:create', { participant_ids: [peer], context: { type: 'bid', id: bid.id } });
  }
  upsertConversation(c, !state.convs.has(c.id));
  return c;
}

// The panel of a bid the viewer is a party to, made once and drawn again with the
// job and bid as they are now (jobs.js puts it beside the bid on every redraw, so
// a reply being typed survives a notification that reloads the page). canStart:
// the bid is still in play, so a conversation may be started about it (one that
// exists shows whatever became of the bid).
export function bidConversationPanel(job, bid, canStart) {
  let p = panels.get(bid.id);
  if (!p) { p = makePanel(bid); panels.set(bid.id, p); }
  Object.assign(p, { job, bid, canStart });
  state.bidJobs.set(bid.id, job.id);
  draw(p);
  return p.node;
}

function makePanel(bid) {
  const id = 'bid-conv-' + bid.id;
  const p = { convId: null, sending: false, loading: false };
  p.title = el('h4', { id: id + '-title' });
  p.empty = el('p', { className: 'muted bid-conv-empty' });
  p.list = el('ol', { className: 'messages bid-conv-messages' });
  p.list.setAttribute('aria-live', 'polite');
  p.list.setAttribute('aria-label', 'Latest messages');
  p.input = el('input', { name: 'text', autocomplete: 'off', maxLength: 4000, required: true });
  p.input.dataset.schema = 'RestSendMessage.text';
  p.label = el('span');
  p.form = el('form', { id: id + '-form', className: 'row bid-conv-reply' },
    el('label', { className: 'grow' }, p.label, ' ', p.input),
    el('button', { type: 'submit', textContent: 'Send' }));
  p.note = el('p', { className: 'composer-notice bid-conv-note' });
  p.note.setAttribute('role', 'status');
  p.note.hidden = true;
  p.open = el('a', { className: 'bid-conv-open', textContent: 'Open the full conversation' });
  p.start = el('button', { type: 'button', className: 'bid-conv-start', textContent: 'Start the conversation' });
  p.node = el('section', { id, className: 'bid-conv card' }, p.title, p.empty, p.list, p.form, p.note, p.open, p.start);
  p.node.setAttribute('aria-labelledby', p.title.id);
  onSubmit(p.form, () => reply(p));
  p.start.addEventListener('click', act(() => start(p)));
  return p;
}

const peerOf = (p) => (state.me.id === p.bid.freelancer_id ? p.job.owner_id : p.bid.freelancer_id);
const onScreen = (p) => p.node.isConnected && !$('#view-job').hidden;

function draw(p) {
  const name = userName(peerOf(p));
  p.title.textContent = 'Conversation with ' + name;
  p.label.textContent = 'Reply to ' + name;
  const convId = conversationOf(p);
  const map = convId && state.messages.get(convId);
  p.start.hidden = !!convId || !p.canStart;
  p.form.hidden = p.open.hidden = !map;
  if (!convId) p.note.hidden = true;
  if (convId && !map) load(p, convId);
  const shown = map ? [...map.values()].filter((m) => !m.thread_root_id).sort((a, b) => a.seq - b.seq).slice(-SHOWN) : [];
  patch(p.list, shown);
  p.empty.hidden = shown.length > 0;
  p.empty.textContent = !convId ? (p.canStart ? 'You have not talked about this bid yet.' : 'No conversation about this bid.')
    : !map ? 'Loading the conversation…' : 'No messages yet: write the first one.';
  if (map) {
    p.open.href = '#/c/' + encodeURIComponent(convId);
    // Shown, so read (once the page put the panel in place; a lost connection
    // leaves it to the next view).
    Promise.resolve().then(() => (onScreen(p) ? markRead(convId) : null)).catch(() => {});
  }
}

function load(p, convId) {
  if (p.loading) return;
  p.loading = true;
  loadHistory(convId).finally(() => { p.loading = false; }).then(() => draw(p), showError);
}

// The shown messages kept in step with the store without redrawing the ones that
// did not change, so the live region announces only what is new or changed.
const drawnAs = new WeakMap();  // item -> its HTML as drawn (before a thumbnail loads into it)
function patch(list, messages) {
  const old = new Map([...list.children].map((li) => [li.dataset.key, li]));
  const keys = new Set(messages.map((m) => m.id));
  for (const [key, li] of old) if (!keys.has(key)) li.remove();
  let prev = null;
  for (const m of messages) {
    const fresh = messageItem(m, false, true);
    fresh.dataset.key = m.id;
    drawnAs.set(fresh, fresh.outerHTML);
    let li = old.get(m.id);
    if (!li) li = fresh;
    else if (drawnAs.get(li) !== drawnAs.get(fresh)) { li.replaceWith(fresh); li = fresh; }
    const at = prev ? prev.nextSibling : list.firstChild;
    if (li !== at) list.insertBefore(li, at);
    prev = li;
  }
}

async function start(p) {
  const c = await bidConversation(p.job, p.bid);
  p.convId = c.id;
  await loadHistory(c.id);
  draw(p);
  p.input.focus();  // the button is gone: the reply field is where the user goes next
}

async function reply(p) {
  const text = p.input.value.trim();
  const convId = conversationOf(p);
  if (!text || !convId || p.sending) return;
  p.sending = true;
  p.note.hidden = true;
  try {
    const m = await send(text, [], null, convId);
    p.input.value = '';
    if (m.masked) showNote(p, MASKED_TEXT);
  } catch (err) {
    if (err.code !== 'contact_details') throw err;  // a 422 shows at the field (onSubmit)
    showNote(p, 'Not sent: ' + sendErrorText(err));
  } finally {
    p.sending = false;
  }
  draw(p);
}

function showNote(p, text) {
  p.note.textContent = text;
  p.note.hidden = false;
}

// A change in a conversation redraws the panels showing it, and the ones still
// without a conversation (the other party may just have started it).
onConversationChanged((convId) => {
  for (const [bidId, p] of panels) {
    if (!p.node.isConnected) { panels.delete(bidId); continue; }  // another job's page
    const id = conversationOf(p);
    if (!convId || !id || id === convId) draw(p);
  }
});

// Leaving the job page takes the panels away: the conversation's messages are
// then only in the conversation view (and the page is drawn again on return).
window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/jobs/')) return;
  for (const p of panels.values()) p.node.remove();
  panels.clear();
});
