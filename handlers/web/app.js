// The hub's browser client: one page, hash routes, no framework. This module
// only starts the app, signs in and out, and routes; the features live in the
// modules it imports. Protocol: docs/protocol.md and docs/video.md.
import { state } from './state.js';
import { $, act, show, setStatus } from './ui.js';
import { saveAuth, loadSavedAuth, clearAuth, whenSessionExpires } from './api.js';
import { connect, disconnect } from './socket.js';
import { bindChat, openConversation, stopTyping } from './chat.js';
import { loadJobs, openJob } from './jobs.js';
import { bindCalls, endCall, stopEcho } from './calls.js';
import { bindLobby, showLobby, endSessionMedia } from './lobby.js';
import { bindNotifications, closeDrawer } from './notifications.js';
import { showNotificationSettings, forgetPush } from './push.js';
import { bindSignIn, showSignIn, showReset, verifyEmail, hashToken } from './signin.js';
import { bindAccount, showAccount, clearAccount } from './account.js';
import { loadLimits } from './limits.js';
import { bindWallet, showWallet } from './wallet.js';
import { showAdmin, isAdmin } from './admin.js';

const route = act(async () => {
  const hash = location.hash || '#/conversations';
  leavePages(hash);
  // The emailed links work signed in or not.
  if (hash.startsWith('#/reset')) { show('reset'); showReset(hashToken(hash)); return; }
  if (hash.startsWith('#/verify')) { show('verify'); await verifyEmail(hashToken(hash)); return; }
  if (!state.auth) {
    if (!knownRoute(hash)) { notFound(); return; }
    if (hash === '#/login') showSignIn();  // not the code step or the forgot form of an earlier visit
    show('auth');
    return;
  }
  if (hash === '#/account') { show('account'); await Promise.all([showAccount(), showNotificationSettings()]); }
  else if (hash === '#/lobby') { show('lobby'); await showLobby(); }
  else if (hash === '#/jobs') { show('jobs'); await loadJobs(); }
  else if (hash.startsWith('#/jobs/')) { show('job'); await openJob(decodeURIComponent(hash.slice(7))); }
  else if (hash.startsWith('#/c/')) { show('conv'); await openConversation(decodeURIComponent(hash.slice(4))); }
  else if (hash === '#/wallet') { show('wallet'); await showWallet(); }
  else if (hash === '#/admin' || hash.startsWith('#/admin/')) {
    if (!isAdmin()) show('forbidden');  // and no admin data is asked for
    else { show('admin'); await showAdmin(hash.slice(7)); }
  }
  else if (hash === '#/device') show('device');
  else if (hash === '#/call') show('call');
  else if (['#/conversations', '#/login', '#/'].includes(hash)) show('list');
  else notFound();
});

// Signed out, the signed-in pages' routes show the sign-in form (and open after
// it); any other route is not found. A link in #nav counts as a page: '#/jobs'
// makes '#/jobs' and '#/jobs/<id>' known.
function knownRoute(hash) {
  const base = hash.split('?')[0].split('/').slice(0, 2).join('/');
  const nav = [...document.querySelectorAll('#nav a[href^="#/"]')].map((a) => a.getAttribute('href'));
  return ['#/', '#/login', '#/conversations', '#/c', '#/call', ...nav].includes(base);
}

// "Page not found", with a link to the chats (or the log-in page, signed out).
function notFound() {
  show('notfound');
  const home = $('#notfound-home');
  home.href = state.auth ? '#/conversations' : '#/login';
  home.textContent = state.auth ? 'Go to your chats' : 'Go to the log-in page';
}

// Whatever the page being left still holds: typing state, the job, the camera.
function leavePages(hash) {
  if (!hash.startsWith('#/c/') && state.current) { stopTyping(state.current); state.current = null; }
  if (!hash.startsWith('#/jobs/')) state.job = null;
  if (hash !== '#/device' && state.echo) stopEcho(true);
  if (hash !== '#/account') clearAccount();
}

async function startSession() {
  $('#nav').hidden = false;
  $('#me-name').textContent = state.me.display_name;
  $('#me-id').textContent = state.me.id;
  $('#nav-admin').hidden = !isAdmin();
  setStatus('connecting…', 'reconnecting');
  connect([bindChat, bindNotifications, bindCalls, bindLobby, bindWallet]);
  if (!location.hash || location.hash === '#/login') location.hash = '#/conversations';
  await route();
}

// revoke: also revoke the refresh token at the hub (not when it was just refused).
function logout(revoke) {
  if (!state.auth) return;
  forgetPush(); closeDrawer(false);  // the next person here gets neither this user's pushes nor their list
  stopEcho(false); endCall(null); endSessionMedia(); state.lobby = null; state.rating = null;
  clearAuth(revoke);
  disconnect();
  state.convs.clear(); state.order = []; state.messages.clear(); state.current = null;
  state.peerRead.clear(); state.job = null; state.bidJobs.clear();
  state.revs.clear(); state.threads.clear(); state.thread = null; state.picker = null;
  state.pins.clear(); state.pinsOpen = false;
  state.signingOut = false; clearAccount(); showSignIn();
  $('#nav').hidden = true;
  setStatus('signed out', '');
  location.hash = '#/login';
  show('auth');
}

async function signedIn(result) {
  saveAuth(result);
  await startSession();
}

loadLimits();  // the forms' maxlength/min/max from the API's OpenAPI document
whenSessionExpires(() => logout(false));
bindSignIn({ signedIn, signOut: () => logout(true) });
bindAccount(() => logout(false));
$('#logout').addEventListener('click', () => logout(true));
window.addEventListener('hashchange', route);

if (loadSavedAuth()) act(startSession)();
else route();
