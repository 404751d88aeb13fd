// The account page (#/account): the email and its verification, the sessions
// (sign one out, or every one), the password, and two-factor (set-up with a QR
// code, the recovery codes shown once, turning it off). Contract: docs/accounts.md.
import { state } from './state.js';
import { $, el, act, onSubmit, showNotice } from './ui.js';
import { api, saveUser } from './api.js';

export async function showAccount() {
  await Promise.all([loadMe(), loadSessions(), loadTwoFactor()]);
}

// Leaving the page (or signing out) forgets the secret and the recovery codes on screen.
export function clearAccount() {
  hideSetup();
  $('#recovery-codes').replaceChildren();
  $('#twofa-codes').hidden = true;
  for (const sel of ['#email-result', '#password-result']) $(sel).textContent = '';
}

async function loadMe() {
  saveUser(await api('GET', '/auth/me'));
  renderEmail();
}

// Shown once the hub's users carry email_verified.
function renderEmail() {
  const me = state.me;
  $('#email-box').hidden = !me || !('email_verified' in me);
  if ($('#email-box').hidden) return;
  $('#email-address').textContent = me.email;
  $('#email-state').textContent = me.email_verified ? 'verified' : 'not verified';
  $('#email-verify-request').hidden = Boolean(me.email_verified);
}

// Sessions

async function loadSessions() {
  const { items } = await api('GET', '/auth/sessions');
  const ordered = [...items.filter((s) => s.current), ...items.filter((s) => !s.current)];
  $('#sessions').replaceChildren(...ordered.map(sessionItem));
}

function sessionItem(session) {
  const li = el('li', { className: 'session card' + (session.current ? ' current' : '') },
    el('strong', { className: 'device', textContent: deviceName(session.user_agent), title: session.user_agent || '' }),
    el('span', { className: 'muted', textContent: `${session.ip || 'unknown address'} · signed in ${when(session.created_at)} · last active ${when(session.last_used_at)}` }),
    session.current ? el('span', { className: 'tag', textContent: 'This device' }) : revokeButton(session));
  li.dataset.id = session.id;
  return li;
}

function revokeButton(session) {
  const button = el('button', { type: 'button', className: 'revoke', textContent: 'Sign out' });
  button.setAttribute('aria-label', `Sign out ${deviceName(session.user_agent)}, signed in ${when(session.created_at)}`);
  button.addEventListener('click', act(async () => {
    await api('DELETE', '/auth/sessions/' + encodeURIComponent(session.id));
    await loadSessions();
  }));
  return button;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');

// "Chrome on Linux" from a User-Agent (the whole string is the item's title).
function deviceName(ua) {
  if (!ua) return 'Unknown device';
  const browser = [['Edg/', 'Edge'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'], ['Safari/', 'Safari']]
    .find(([mark]) => ua.includes(mark));
  const os = ['Android', 'iPhone', 'iPad', 'Windows', 'Mac OS X', 'Linux'].find((name) => ua.includes(name));
  if (!browser) return ua.slice(0, 60);
  return os ? `${browser[1]} on ${os === 'Mac OS X' ? 'macOS' : os}` : browser[1];
}

// Password

async function changePassword(body, form) {
  await api('POST', '/auth/password', body);
  form.reset();
  $('#password-result').textContent = 'Password changed. Your other sessions were signed out.';
  await loadSessions();
}

// Two-factor

async function loadTwoFactor() {
  const status = await api('GET', '/auth/2fa');
  $('#twofa-state').textContent = status.enabled
    ? `Two-factor is on · ${status.recovery_codes_left} recovery codes left`
    : 'Two-factor is off.';
  $('#twofa-setup').hidden = status.enabled || !$('#twofa-enable-form').hidden;
  $('#twofa-disable-form').hidden = !status.enabled;
}

async function startSetup() {
  const setup = await api('POST', '/auth/2fa/setup');
  $('#twofa-qr').src = setup.qr_svg;
  $('#twofa-secret').textContent = setup.secret;
  $('#twofa-uri').href = setup.otpauth_uri;
  $('#twofa-enable-form').hidden = false;
  $('#twofa-setup').hidden = true;
  $('#twofa-enable-form').elements.code.focus();
}

function hideSetup() {
  $('#twofa-enable-form').reset();
  $('#twofa-enable-form').hidden = true;
  $('#twofa-qr').removeAttribute('src');
  $('#twofa-secret').textContent = '';
  $('#twofa-uri').removeAttribute('href');
}

async function enableTwoFactor(body) {
  const { recovery_codes: codes } = await api('POST', '/auth/2fa/enable', { code: body.code });
  hideSetup();
  $('#recovery-codes').replaceChildren(...codes.map((code) => el('li', {}, el('code', { textContent: code }))));
  $('#twofa-codes').hidden = false;
  await loadTwoFactor();
  $('#twofa-codes-done').focus();
}

async function disableTwoFactor(body, form) {
  await api('POST', '/auth/2fa/disable', { code: body.code });
  form.reset();
  await loadTwoFactor();
}

// signOut(): app.js's logout, after logout-all ended this session too.
export function bindAccount(signOut) {
  onSubmit($('#password-form'), changePassword);
  onSubmit($('#twofa-enable-form'), enableTwoFactor);
  onSubmit($('#twofa-disable-form'), disableTwoFactor);
  $('#twofa-setup').addEventListener('click', act(startSetup));
  $('#twofa-codes-done').addEventListener('click', () => {
    $('#recovery-codes').replaceChildren();
    $('#twofa-codes').hidden = true;
  });
  $('#email-verify-request').addEventListener('click', act(async () => {
    await api('POST', '/auth/email/verify-request');
    $('#email-result').textContent = 'Check your inbox: we sent you a link.';
  }));
  $('#logout-all').addEventListener('click', act(async () => {
    state.signingOut = true;  // our own sockets get auth:revoked: no error for that
    try { await api('POST', '/auth/logout-all'); } catch (err) { state.signingOut = false; throw err; }
    signOut();
    showNotice('Signed out on every device.');
  }));
}
