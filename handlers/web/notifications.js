// The notifications drawer (/notifications): REST list, live events, unread badge.
import { state } from './state.js';
import { $, el, act } from './ui.js';
import { api } from './api.js';
import { jobOnScreen, openJob } from './jobs.js';

async function loadNotifications() {
  const page = await api('GET', '/notifications?limit=50');
  state.notifications = page.items;
  renderNotifications();
}

function renderNotifications() {
  const unread = state.notifications.filter((n) => !n.read).length;
  $('#notif-badge').textContent = String(unread);
  $('#notif-badge').hidden = unread === 0;
  $('#notif-list').replaceChildren(...state.notifications.map((n) => el('li', { className: n.read ? '' : 'unread',
    textContent: `${n.type} · ${new Date(n.created_at).toLocaleString()}` })));
}

export function bindNotifications(s) {
  s.notif.on('connect', act(loadNotifications));
  s.notif.on('notification', (n) => {
    state.notifications.unshift(n);
    renderNotifications();
    // A bid on (or a change to) the job on screen: show it.
    if (n.data && n.data.job_id && n.data.job_id === jobOnScreen()) act(openJob)(n.data.job_id);
  });
}

$('#notif-toggle').addEventListener('click', act(async () => {
  const drawer = $('#notifications');
  drawer.hidden = !drawer.hidden;
  $('#notif-toggle').setAttribute('aria-expanded', String(!drawer.hidden));
  if (!drawer.hidden) await loadNotifications();
}));
$('#notif-read-all').addEventListener('click', act(async () => { await api('POST', '/notifications/read-all'); await loadNotifications(); }));
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') $('#notifications').hidden = true; });
