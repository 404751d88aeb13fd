// The connection banner: "Reconnecting…" under the header while the
// /conversations socket is down (the status badge says more), "Back online"
// for a few seconds once it is back and caught up (chat.js calls connectionBack
// after the sync).
import { state } from './state.js';
import { $ } from './ui.js';

let lost = false;
let timer = null;

function banner(text, kind) {
  clearTimeout(timer);
  const box = $('#conn-banner');
  box.textContent = text;
  box.className = 'conn-banner ' + kind;
  box.hidden = false;
}

function hide() {
  clearTimeout(timer);
  $('#conn-banner').hidden = true;
}

export function bindConnection(s) {
  s.conv.on('disconnect', (reason) => {
    // Signing out closes the socket on purpose: nothing to say.
    if (!state.auth || reason === 'io client disconnect') { lost = false; hide(); return; }
    lost = true;
    banner('Reconnecting…', 'reconnecting');
  });
  s.manager.on('reconnect_failed', () => {
    if (lost) banner('Offline: the hub cannot be reached. Reload the page to try again.', 'offline');
  });
}

// The conversations socket is back and synced.
export function connectionBack() {
  if (!lost) return;
  lost = false;
  banner('Back online', 'online');
  timer = setTimeout(hide, 4000);
}
