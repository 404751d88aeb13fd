// Getting in: sign up, log in (with the two-factor step when it is on), a
// forgotten password, and the pages the emailed links open (#/reset?token=...,
// #/verify?token=...). Contract: docs/accounts.md.
import { state } from './state.js';
import { $, onSubmit, clearFieldErrors, showError, showNotice } from './ui.js';
import { api, saveUser } from './api.js';

let mfaToken = null;    // from the login's 401 mfa_required, valid 5 min
let resetToken = null;  // from the reset link

// signedIn(result): an AuthResult to start the session with; signOut(): app.js's logout.
export function bindSignIn({ signedIn, signOut }) {
  onSubmit($('#signup-form'), async (body) => signedIn(await api('POST', '/auth/register', body)));
  onSubmit($('#login-form'), async (body) => logIn(body, signedIn));
  onSubmit($('#mfa-form'), async (body, form) => {
    const result = await api('POST', '/auth/login/mfa', { mfa_token: mfaToken, code: body.code })
      .catch((err) => { form.reset(); throw err; });
    showSignIn();
    await signedIn(result);
  });
  onSubmit($('#forgot-form'), async (body) => {
    await api('POST', '/auth/password/forgot', { email: body.email });
    $('#forgot-result').textContent = 'If an account exists for that email, a mail is on its way.';
  });
  onSubmit($('#reset-form'), async (body, form) => {
    await api('POST', '/auth/password/reset', { token: resetToken, new_password: body.new_password });
    form.reset();
    resetToken = null;
    if (state.auth) signOut();  // a reset ends every session
    location.hash = '#/login';
    showNotice('Password changed: log in with your new password.');
  });
  $('#forgot-open').addEventListener('click', showForgot);
  $('#mfa-back').addEventListener('click', showSignIn);
  $('#forgot-back').addEventListener('click', showSignIn);
}

async function logIn(body, signedIn) {
  let result;
  try {
    result = await api('POST', '/auth/login', body);
  } catch (err) {
    if (err.code !== 'mfa_required' || !err.problem.mfa_token) throw err;
    askForCode(err.problem.mfa_token);
    return;
  }
  await signedIn(result);
}

// The password was right and two-factor is on: a TOTP or recovery code next.
function askForCode(token) {
  mfaToken = token;
  showForm('#mfa-form');
  $('#mfa-code').focus();
}

function showForgot() {
  $('#forgot-form').elements.email.value = $('#login-form').elements.email.value;
  $('#forgot-result').textContent = '';
  showForm('#forgot-form');
  $('#forgot-form').elements.email.focus();
}

// Back to the plain log-in form (after a sign-out too): no password left in a field.
export function showSignIn() {
  mfaToken = null;
  $('#signup-form').reset();
  $('#login-form').elements.password.value = '';
  showForm('#login-form');
}

// One of the log-in, code and forgot forms; sign-up only beside the log-in form.
function showForm(sel) {
  $('#signup-form').hidden = sel !== '#login-form';
  for (const id of ['#login-form', '#mfa-form', '#forgot-form']) {
    const form = $(id);
    form.hidden = id !== sel;
    clearFieldErrors(form);
    if (id !== sel && id !== '#login-form') form.reset();
  }
}

// #/reset?token=...: the new-password form of the emailed link.
export function showReset(token) {
  resetToken = token;
  clearFieldErrors($('#reset-form'));
  $('#reset-form').hidden = !token;
  $('#reset-missing').hidden = Boolean(token);
}

// #/verify?token=...: verifies at once and says how it went.
export async function verifyEmail(token) {
  const result = $('#verify-result');
  $('#verify-next').href = state.auth ? '#/account' : '#/login';
  if (!token) { result.textContent = 'This link has no token: ask for a new mail.'; return; }
  result.textContent = 'Verifying your email…';
  try {
    saveUser(await api('POST', '/auth/email/verify', { token }));
    result.textContent = 'Email verified.';
  } catch (err) {
    result.textContent = 'This link is invalid, used or expired: ask for a new mail.';
    showError(err);
  }
}

// The token in a link's hash (#/reset?token=...).
export const hashToken = (hash) => new URLSearchParams(hash.split('?')[1] || '').get('token');
