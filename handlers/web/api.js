// REST calls to the hub and the tokens they carry (kept in localStorage).
import { state } from './state.js';
import { showError } from './ui.js';

const API = '/api/v1';
const AUTH_KEY = 'hub.auth';

// problem: the whole problem document (its extension members, such as mfa_token).
export class HubError extends Error {
  constructor(code, message, details, problem) {
    super(message); this.code = code; this.details = details; this.problem = problem || {};
  }
}

let onExpired = () => {};
// app.js signs out when the refresh token is refused (api.js cannot import it: a cycle).
export function whenSessionExpires(fn) { onExpired = fn; }
// The session ended (refused refresh token, auth:revoked): say why, sign out.
export function endSession(err) {
  if (!state.auth) return;
  showError(err);
  onExpired();
}

// Routes whose 401 is an answer about the credentials sent, not an expired token.
const NO_REFRESH = ['/auth/login', '/auth/login/mfa', '/auth/register', '/auth/refresh', '/auth/logout'];

const jsonPost = (body) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

// A fresh Idempotency-Key for one user action (a retry of the same action
// sends the same key again; docs/marketplace.md#idempotency-key).
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();  // secure contexts only
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// A 401 refreshes the tokens once and retries; any other failure throws the
// problem document as a HubError. key: the request's Idempotency-Key (POSTs
// that create or move something; see newKey).
export async function api(method, path, body, key, retried) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.auth) headers.Authorization = 'Bearer ' + state.auth.access_token;
  if (key) headers['Idempotency-Key'] = key;
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && state.auth && !retried && !NO_REFRESH.includes(path)) {
    if (await refreshTokens()) return api(method, path, body, key, true);
  }
  if (!res.ok) {
    const problem = await res.json().catch(() => ({}));
    throw new HubError(problem.code || 'http_' + res.status, problem.detail || res.statusText, problem.details, problem);
  }
  const text = await res.text();  // 204, and a 202 may have no body
  return text ? JSON.parse(text) : null;
}

export async function refreshTokens() {
  if (!state.auth) return false;
  try {
    const res = await fetch(API + '/auth/refresh', jsonPost({ refresh_token: state.auth.refresh_token }));
    if (!res.ok) throw new HubError('unauthorized', 'Your session expired: log in again');
    saveAuth(await res.json());
    return true;
  } catch (err) {
    endSession(err);
    return false;
  }
}

export function saveAuth(result) {
  state.auth = { access_token: result.access_token, refresh_token: result.refresh_token };
  if (result.user) state.me = result.user;
  localStorage.setItem(AUTH_KEY, JSON.stringify({ ...state.auth, user: state.me }));
}

// A fresher copy of the signed-in user (GET /auth/me, a verified email).
export function saveUser(user) {
  if (!state.auth || !state.me || user.id !== state.me.id) return;
  state.me = user;
  localStorage.setItem(AUTH_KEY, JSON.stringify({ ...state.auth, user }));
}

// Restores the tokens of an earlier visit; false when there are none.
export function loadSavedAuth() {
  const saved = JSON.parse(localStorage.getItem(AUTH_KEY) || 'null');
  if (!saved || !saved.access_token) return false;
  state.auth = { access_token: saved.access_token, refresh_token: saved.refresh_token };
  state.me = saved.user;
  return true;
}

// Forgets the tokens; with revoke, also tells the hub (best effort: we are leaving anyway).
export function clearAuth(revoke) {
  const auth = state.auth;
  state.auth = null; state.me = null;
  localStorage.removeItem(AUTH_KEY);
  if (revoke && auth) fetch(API + '/auth/logout', jsonPost({ refresh_token: auth.refresh_token })).catch(() => {});
}
