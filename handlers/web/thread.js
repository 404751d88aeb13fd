// The thread pane: a message and its replies (message:thread), in place of the
// main list while it is open, with its own reply field. Replies stay out of
// the main list (chat.js holds them in one seq space with the others).
// Protocol: docs/protocol.md.
import { state } from './state.js';
import { $, onSubmit } from './ui.js';
import { emit } from './socket.js';
import { renderList } from './convlist.js';
import { messageItem, replyLabel } from './messages.js';

// chat.js draws the open conversation and sends: it hands over
// { renderMessages, renderPins, send } (bindThread), so this module imports
// nothing that imports it.
let chat = null;
export function bindThread(fns) { chat = fns; }

export async function openThread(root) {
  state.thread = { convId: root.conversation_id, root };
  state.picker = null;
  if (!state.threads.has(root.id)) await loadThread(root);
  chat.renderMessages(true); chat.renderPins();
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
  chat.renderMessages();
  $('#composer-input').focus();
}

async function submitThreadReply() {
  const input = $('#thread-input');
  const text = input.value.trim();
  if (!text || !state.thread) return;
  await chat.send(text, [], state.thread.root.id);
  input.value = '';
  chat.renderMessages(); renderList();
}

// Shows the open thread of the open conversation, or hides the pane; returns
// its list of replies (null when hidden). chat.js's renderMessages calls it.
export function renderThread() {
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

onSubmit($('#thread-composer'), submitThreadReply);
$('#thread-close').addEventListener('click', closeThread);
