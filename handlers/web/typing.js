// Typing, both ways: typing events while the composer's text changes, and who
// else is typing in the open conversation ("Bo is typing…"). Protocol:
// docs/protocol.md "typing".
import { state } from './state.js';
import { $, showError } from './ui.js';
import { emit } from './socket.js';
import { userName } from './users.js';

export function onTyping(e) {
  if (!e.typing) { clearTyping(e.conversation_id, e.user_id); return; }
  const users = state.typing.get(e.conversation_id) || new Map();
  clearTimeout(users.get(e.user_id));
  // A lost typing:false must not leave the indicator on forever.
  users.set(e.user_id, setTimeout(() => clearTyping(e.conversation_id, e.user_id), e.expires_in_ms || 6000));
  state.typing.set(e.conversation_id, users);
  renderTyping();
}

export function clearTyping(convId, userId) {
  const users = state.typing.get(convId);
  if (users && users.has(userId)) { clearTimeout(users.get(userId)); users.delete(userId); renderTyping(); }
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

export function renderTyping() {
  const users = state.current && state.typing.get(state.current);
  const names = users ? [...users.keys()].map(userName) : [];
  $('#typing').textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}

$('#composer-input').addEventListener('input', onComposerInput);
