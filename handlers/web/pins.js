// A conversation's pins: "📌 N pinned" under its title, the list that opens,
// most recently pinned first, and jumping to a pinned message. The marker and
// Pin / Unpin on each message are messages.js's. Protocol: docs/protocol.md.
import { state } from './state.js';
import { $, el } from './ui.js';
import { emit } from './socket.js';
import { previewText } from './cards.js';
import { button } from './messages.js';
import { openThread } from './thread.js';

// chat.js's renderMessages, handed over (bindPins) so that this module imports
// nothing that imports it.
let renderMessages = null;
export function bindPins(fn) { renderMessages = fn; }

// "📌 N pinned" under the title; opens the list, most recently pinned first.
export function renderPins() {
  const pins = (state.pins.get(state.current) || []).filter((m) => m.pinned && !m.deleted);
  $('#conv-pins').hidden = !pins.length;
  const toggle = $('#pins-toggle');
  toggle.textContent = `📌 ${pins.length} pinned`;
  toggle.setAttribute('aria-expanded', String(!!state.pinsOpen));
  $('#pins-list').hidden = !state.pinsOpen;
  $('#pins-list').replaceChildren(...pins.map((m) => el('li', {}, button('pinned-item', previewText(m), () => showPinned(m)))));
}

// The pins list of a conversation we show, as the hub has it now.
export async function loadPins(convId) {
  if (!state.pins.has(convId)) return;
  state.pins.set(convId, (await emit(state.sockets.conv, 'conversation:pins', { conversation_id: convId })).items);
  if (state.current === convId) renderPins();
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

$('#pins-toggle').addEventListener('click', () => { state.pinsOpen = !state.pinsOpen; renderPins(); });
