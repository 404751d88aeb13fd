// The conversation list (#/conversations): the viewer's own flags (pinned
// first, muted with an icon and a word, an "Archived" section), the buttons that
// change them in the open conversation's head, and the people search that
// starts a chat (GET /users?q=, then conversation:create). Protocol:
// docs/protocol.md "conversation:list", "conversation:update".
import { state } from './state.js';
import { $, el, act } from './ui.js';
import { api } from './api.js';
import { emit } from './socket.js';
import { userName } from './users.js';
import { previewText } from './cards.js';
import { roleLabel } from './labels.js';

// chat.js keeps the store: a Conversation the hub answered goes through it
// (fn(conversation, moveToTop)).
let changed = () => {};
export function whenConversationChanges(fn) { changed = fn; }

export function others(c) { return c.participant_ids.filter((id) => !state.me || id !== state.me.id); }

export function convTitle(c) { return c.title || others(c).map(userName).join(', ') || 'Just you'; }

export function convStatus(c) {
  const peers = others(c);
  return peers.some((id) => state.presence.get(id) === 'online') ? 'online'
    : (peers.map((id) => state.presence.get(id)).find((s) => s && s !== 'offline') || 'offline');
}

// A presence dot: an image named by its status (axe: a plain span may not carry a label).
function presenceDot(status) {
  const dot = el('span', { className: 'dot ' + status, title: status });
  dot.setAttribute('role', 'img');
  dot.setAttribute('aria-label', status);
  return dot;
}

let archivedShown = false;

// Pinned first (in the order they came: the most recently pinned first), then by
// activity; the archived ones only in their own section.
export function renderList() {
  const all = state.order.map((id) => state.convs.get(id)).filter(Boolean);
  const shown = all.filter((c) => Boolean(c.archived) === archivedShown);
  const ordered = [...shown.filter((c) => c.pinned), ...shown.filter((c) => !c.pinned)];
  const ul = $('#conversations');
  ul.replaceChildren(...ordered.map(listItem));
  ul.setAttribute('aria-label', archivedShown ? 'Archived conversations' : 'Conversations');
  const empty = $('#no-conversations');
  empty.textContent = archivedShown ? 'No archived conversations.' : 'No conversations yet: find someone above to message.';
  empty.hidden = ordered.length > 0;
  const archived = all.filter((c) => c.archived).length;
  $('#show-archived').textContent = archived ? `Archived (${archived})` : 'Archived';
  $('#show-chats').setAttribute('aria-pressed', String(!archivedShown));
  $('#show-archived').setAttribute('aria-pressed', String(archivedShown));
}

function listItem(c) {
  const status = convStatus(c);
  const last = c.last_message ? previewText(c.last_message) : 'no messages yet';
  const badge = c.unread_count ? el('span', { className: 'badge unread', textContent: String(c.unread_count), title: `${c.unread_count} unread` }) : el('span');
  if (c.unread_mentions) badge.prepend(el('span', { className: 'at', textContent: '@', title: `${c.unread_mentions} unread mentioning you` }));
  const flags = el('span', { className: 'flags' },
    c.pinned ? el('span', { className: 'flag pinned-flag', textContent: '📌 Pinned' }) : null,
    c.muted ? el('span', { className: 'flag muted-flag', textContent: '🔕 Muted' }) : null);
  const button = el('button', { type: 'button', className: 'conv-item' + (c.muted ? ' muted' : '') },
    presenceDot(status),
    el('span', { className: 'name', textContent: convTitle(c) }), flags, badge,
    el('span', { className: 'last', textContent: last }));
  button.addEventListener('click', () => { location.hash = '#/c/' + c.id; });
  const li = el('li', { className: 'conv' + (c.pinned ? ' pinned-conv' : '') }, button);
  li.dataset.id = c.id;
  return li;
}

function showSection(archived) {
  archivedShown = archived;
  renderList();
}

// ---------- the flags, from the open conversation's head ----------
export function renderFlags(c) {
  const flag = (sel, on, yes, no) => { $(sel).textContent = on ? yes : no; };
  flag('#conv-pin', c.pinned, 'Unpin chat', 'Pin chat');
  flag('#conv-mute', c.muted, 'Unmute', 'Mute');
  flag('#conv-archive', c.archived, 'Unarchive', 'Archive');
  $('#conv-muted').hidden = !c.muted;
}

// conversation:update with the viewer's own flags; the ack is the Conversation.
async function setFlag(name) {
  const c = state.current && state.convs.get(state.current);
  if (!c) return;
  const updated = await emit(state.sockets.conv, 'conversation:update', { conversation_id: c.id, [name]: !c[name] });
  changed(updated, name === 'pinned' && updated.pinned);  // the newest pin leads the pinned
}

// ---------- people search ----------
let searchTimer = null;
let searchSeq = 0;

async function searchPeople() {
  clearTimeout(searchTimer);
  const q = $('#people-q').value.trim();
  const seq = ++searchSeq;
  const list = $('#people');
  if (!q) { list.hidden = true; list.replaceChildren(); $('#people-state').textContent = ''; return; }
  const page = await api('GET', '/users?' + new URLSearchParams({ q, limit: '20' }));
  if (seq !== searchSeq) return;  // a newer search is on its way
  for (const u of page.items) state.users.set(u.id, u);
  list.replaceChildren(...page.items.map(personItem));
  list.hidden = !page.items.length;
  $('#people-state').textContent = page.items.length
    ? `${page.items.length}${page.next_cursor ? '+' : ''} ${page.items.length === 1 ? 'person' : 'people'} found`
    : `Nobody found for “${q}”.`;
}

function personItem(u) {
  const message = el('button', { type: 'button', className: 'message-person', textContent: 'Message' });
  message.setAttribute('aria-label', 'Message ' + u.display_name);
  message.addEventListener('click', act(() => startChat(u)));
  return el('li', { className: 'person' },
    el('div', { className: 'person-info' },
      el('span', { className: 'person-name', textContent: u.display_name }),
      el('span', { className: 'tag', textContent: roleLabel(u.role) }),
      u.headline ? el('span', { className: 'person-headline muted', textContent: u.headline }) : null),
    message);
}

// The direct conversation with u: the existing one, or a new one (the hub
// answers the existing one for a second create).
async function startChat(u) {
  const c = await emit(state.sockets.conv, 'conversation:create', { participant_ids: [u.id] });
  changed(c, !state.convs.has(c.id));
  $('#people-form').reset();
  await searchPeople();
  location.hash = '#/c/' + c.id;
}

$('#people-q').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(act(searchPeople), 250);
});
$('#people-form').addEventListener('submit', act(async (ev) => { ev.preventDefault(); await searchPeople(); }));
$('#show-chats').addEventListener('click', () => showSection(false));
$('#show-archived').addEventListener('click', () => showSection(true));
$('#conv-pin').addEventListener('click', act(() => setFlag('pinned')));
$('#conv-mute').addEventListener('click', act(() => setFlag('muted')));
$('#conv-archive').addEventListener('click', act(() => setFlag('archived')));
