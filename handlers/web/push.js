// The account page's Notifications card: Web Push on this browser (the service
// worker /sw.js, permission, pushManager.subscribe with the hub's VAPID key,
// POST/DELETE /push/subscriptions) and the notification settings (GET|PATCH
// /users/me/notification-settings: push, email digests and their delay, quiet
// hours). Contract: docs/push.md, docs/protocol.md "Notification settings".
import { state } from './state.js';
import { $, act, onSubmit } from './ui.js';
import { api } from './api.js';
import { openDrawer } from './notifications.js';

const SAVED = 'hub.push';  // {user_id, id}: this browser's subscription at the hub

export const pushSupported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function saved() {
  const entry = JSON.parse(localStorage.getItem(SAVED) || 'null');
  return entry && state.me && entry.user_id === state.me.id ? entry : null;
}

// The hub's key as pushManager.subscribe takes it.
function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

const sameKey = (buffer, bytes) => {
  if (!buffer) return true;  // the browser does not say: keep it
  const have = new Uint8Array(buffer);
  return have.length === bytes.length && have.every((b, i) => b === bytes[i]);
};

async function currentSubscription() {
  if (!pushSupported()) return null;
  const registration = await navigator.serviceWorker.getRegistration('/');
  return registration ? registration.pushManager.getSubscription() : null;
}

async function renderPush() {
  const on = $('#push-on'); const off = $('#push-off'); const line = $('#push-state');
  on.hidden = true; off.hidden = true;
  if (!pushSupported()) { line.textContent = 'This browser cannot show notifications from the hub.'; return; }
  if (Notification.permission === 'denied') {
    line.textContent = 'Notifications are blocked for this site: allow them in your browser\'s site settings, then turn them on here.';
    return;
  }
  const subscribed = saved() && (await currentSubscription());
  line.textContent = subscribed
    ? 'Browser notifications are on for this browser.'
    : 'Browser notifications are off for this browser.';
  (subscribed ? off : on).hidden = false;
}

// Registers the service worker, asks for permission (from the click), subscribes
// with the hub's key and gives the subscription to the hub.
async function turnOn() {
  await navigator.serviceWorker.register('/sw.js');
  if ((await Notification.requestPermission()) !== 'granted') { await renderPush(); return; }
  const { key } = await api('GET', '/push/vapid-public-key');
  const applicationServerKey = keyBytes(key);
  const registration = await navigator.serviceWorker.ready;  // subscribing needs an active worker
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options && subscription.options.applicationServerKey, applicationServerKey)) {
    await subscription.unsubscribe();  // made with another key: the hub's pushes would be refused
    subscription = null;
  }
  if (!subscription) subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  const stored = await api('POST', '/push/subscriptions', { ...subscription.toJSON(), user_agent: navigator.userAgent.slice(0, 512) });
  localStorage.setItem(SAVED, JSON.stringify({ user_id: state.me.id, id: stored.id }));
  await renderPush();
  $('#push-off').focus();
}

// Deletes the subscription at the hub, then in the browser.
async function turnOff() {
  const entry = saved();
  if (entry) {
    try { await api('DELETE', '/push/subscriptions/' + encodeURIComponent(entry.id)); }
    catch (err) { if (err.code !== 'not_found') throw err; }  // gone already (the push service said so)
  }
  localStorage.removeItem(SAVED);
  const subscription = await currentSubscription();
  if (subscription) await subscription.unsubscribe();
  await renderPush();
  $('#push-on').focus();
}

// Signing out: the next person at this browser must not get this user's pushes
// (best effort: the page is signing out). Call before the tokens are dropped.
export function forgetPush() {
  const entry = saved();
  const auth = state.auth;
  localStorage.removeItem(SAVED);
  if (entry && auth) {
    fetch('/api/v1/push/subscriptions/' + encodeURIComponent(entry.id),
      { method: 'DELETE', headers: { Authorization: 'Bearer ' + auth.access_token } }).catch(() => {});
  }
  currentSubscription().then((s) => s && s.unsubscribe()).catch(() => {});
}

// Settings

const form = () => $('#notif-settings-form');

function renderSettings(settings) {
  const f = form();
  f.elements.push.checked = settings.push;
  f.elements.email.checked = settings.email;
  const delay = f.elements.email_digest_delay_s;
  const value = String(settings.email_digest_delay_s);
  if (![...delay.options].some((o) => o.value === value)) {
    const minutes = Math.round(settings.email_digest_delay_s / 60);
    delay.append(new Option(`${minutes} minutes`, value));
  }
  delay.value = value;
  const quiet = settings.quiet_hours;
  f.elements.quiet.checked = Boolean(quiet);
  f.elements.start.value = quiet ? quiet.start : '22:00';
  f.elements.end.value = quiet ? quiet.end : '07:00';
  f.elements.tz.value = quiet ? quiet.tz : Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  fieldsChanged();
}

// The quiet hours' fields count only while quiet hours are on, the delay only with email.
function fieldsChanged() {
  const f = form();
  for (const name of ['start', 'end', 'tz']) {
    f.elements[name].disabled = !f.elements.quiet.checked;
    f.elements[name].required = f.elements.quiet.checked;
  }
  f.elements.email_digest_delay_s.disabled = !f.elements.email.checked;
}

async function saveSettings(fields, f) {
  const e = f.elements;
  const body = { push: e.push.checked, email: e.email.checked,
    quiet_hours: e.quiet.checked ? { start: e.start.value, end: e.end.value, tz: e.tz.value.trim() } : null };
  if (e.email.checked) body.email_digest_delay_s = Number(e.email_digest_delay_s.value);
  $('#notif-settings-result').textContent = '';
  renderSettings(await api('PATCH', '/users/me/notification-settings', body));
  $('#notif-settings-result').textContent = 'Notification settings saved.';
}

// The card, when the account page opens.
export async function showNotificationSettings() {
  $('#notif-settings-result').textContent = '';
  const [settings] = await Promise.all([api('GET', '/users/me/notification-settings'), renderPush()]);
  renderSettings(settings);
}

$('#push-on').addEventListener('click', act(turnOn));
$('#push-off').addEventListener('click', act(turnOff));
form().elements.quiet.addEventListener('change', fieldsChanged);
form().elements.email.addEventListener('change', fieldsChanged);
onSubmit(form(), saveSettings);

// A click on a notification (sw.js) while the page is open: go where it leads.
if (pushSupported()) {
  navigator.serviceWorker.addEventListener('message', act(async (ev) => {
    const msg = ev.data || {};
    if (msg.type !== 'hub:open' || !state.auth) return;
    if (msg.hash) location.hash = msg.hash;
    if (msg.alerts) await openDrawer();
  }));
  navigator.serviceWorker.startMessages();
}
