// The notifications drawer: the inbox (REST /notifications), live ones from the
// /notifications namespace, the unread badge, each notification in words with a
// link to what it talks about. The drawer opens and closes by mouse, touch and
// keyboard (Escape closes it and gives the focus back to the Alerts button).
// Types and their data: docs/marketplace.md "Notifications sent", docs/protocol.md.
import { state } from './state.js';
import { $, el, act, money } from './ui.js';
import { api } from './api.js';
import { jobOnScreen, openJob } from './jobs.js';
import { userName, onProfile } from './users.js';
import { notificationLabel } from './labels.js';

let unread = 0;          // the hub's unread count (the list holds only the latest 50)
const jobs = new Map();  // job id -> {title, owner_id} (or {} while loading, null if unreadable)
let arrivals = 0;        // live notifications received so far, numbered
let recent = [];         // the latest of them: {at: number, n}

const drawer = () => $('#notifications');
const toggle = () => $('#notif-toggle');
export const drawerOpen = () => !drawer().hidden;

// The inbox from the hub; live ones that came while it was on its way stay.
async function loadNotifications() {
  const from = arrivals;
  const [page, count] = await Promise.all([
    api('GET', '/notifications?limit=50'), api('GET', '/notifications/unread-count')]);
  const listed = new Set(page.items.map((n) => n.id));
  const since = recent.filter((r) => r.at > from && !listed.has(r.n.id)).map((r) => r.n).reverse();
  state.notifications = [...since, ...page.items];
  unread = count.count + since.filter((n) => !n.read).length;
  renderNotifications();
}

// The job a notification names: from its data (job.*), else fetched once.
function jobOf(d) {
  if (d.job && d.job.title) return d.job;
  if (!d.job_id) return null;
  if (!jobs.has(d.job_id)) {
    jobs.set(d.job_id, {});
    api('GET', '/jobs/' + encodeURIComponent(d.job_id))
      .then((job) => { jobs.set(d.job_id, job); renderNotifications(); })
      .catch(() => jobs.set(d.job_id, null));
  }
  return jobs.get(d.job_id);
}

const name = (id, fallback) => (id ? userName(id) : fallback);
const quoted = (text) => `“${text}”`;
const short = (text, n = 80) => (text.length > n ? text.slice(0, n - 1) + '…' : text);

// The notification as a sentence, from its data; names and job titles fill in
// as they arrive (users.js, jobOf).
export function notificationText(n) {
  const d = n.data || {};
  const job = jobOf(d) || {};
  const title = job.title ? quoted(job.title) : null;
  const named = title ? ' ' + title : '';
  const owner = name(job.owner_id, 'The client');
  const bid = d.bid || {};
  const bidder = name(bid.freelancer_id, 'A freelancer');
  const bidAmount = bid.amount != null ? money(bid.amount, bid.currency) : '';
  const m = d.milestone || {};
  const mAmount = (amount) => (amount != null && m.currency ? money(amount, m.currency) : '');
  const sum = (x) => (x && x.currency ? money(x.amount, x.currency) : 'money');
  const about = m.description ? ` for ${quoted(short(m.description, 60))}` : '';
  switch (n.type) {
    case 'bid.created': return `New bid from ${bidder} on ${title || 'your job'}${bidAmount && ': ' + bidAmount}`;
    case 'bid.updated': return `${bidder} changed their bid on ${title || 'your job'}${bidAmount && ': ' + bidAmount}`;
    case 'bid.withdrawn': return `${bidder} withdrew their bid on ${title || 'your job'}`;
    case 'bid.accepted': return `${bidder} accepted the job${named}`;
    case 'bid.declined': return `${bidder} declined the job${named}`;
    case 'bid.shortlisted': return `${owner} shortlisted your bid on ${title || 'a job'}`;
    case 'bid.rejected': return `Your bid on ${title || 'a job'} was not chosen`;
    case 'bid.awarded': return `${owner} awarded you the job${named}`;
    case 'job.cancelled': return `${owner} cancelled the job${named}`;
    case 'job.completed': return `${owner} marked the job${named} completed`;
    case 'milestone.created': return `Milestone funded: ${mAmount(m.amount)}${about}`;
    case 'milestone.release_requested': return `${name(m.freelancer_id, 'The freelancer')} asks you to release ${mAmount(m.held)}${about}`;
    case 'milestone.released': return `Payment released: ${mAmount(d.amount)}${about}`;
    case 'milestone.cancelled': return `Milestone cancelled${about}`;
    case 'milestone.disputed': return `${name(d.by, 'The other side')} opened a dispute${about}`;
    case 'milestone.dispute_note': return `${name(d.by, 'The other side')} wrote their side of the dispute${about}`;
    case 'milestone.resolved': {
      const to = state.me && m.freelancer_id === state.me.id ? 'you' : name(m.freelancer_id, 'the freelancer');
      return `Dispute resolved${about}: ${mAmount(d.freelancer_amount)} to ${to}`;
    }
    case 'review.created': {
      const r = d.review || {};
      return `${name(r.author_id, 'Someone')} reviewed you: ${r.rating} of 5 stars`;
    }
    case 'deposit.succeeded': return `Deposit received: ${sum(d.deposit)}`;
    case 'deposit.failed': return `Deposit failed: ${sum(d.deposit)}`;
    case 'payout.paid': return `Payout sent: ${sum(d.payout)}`;
    case 'payout.failed': return `Payout failed: ${sum(d.payout)} is back in your wallet`;
    case 'mention': {
      const msg = d.message || {};
      return `${name(msg.sender_id, 'Someone')} mentioned you: ${quoted(short(msg.text || ''))}`;
    }
    case 'networking.connection': return `You connected with ${name(d.peer_user_id, 'someone')} at speed networking`;
    case 'moderation.warning': return `A moderator warned you${d.note ? ': ' + d.note : ''}`;
    default: return notificationLabel(n.type);
  }
}

// Where the notification leads (a hash route), or null.
export function notificationTarget(n) {
  const d = n.data || {};
  if (/^(deposit|payout)\./.test(n.type)) return '#/wallet';
  if (n.type === 'mention' || n.type === 'networking.connection') {
    return d.conversation_id ? '#/c/' + encodeURIComponent(d.conversation_id) : null;
  }
  if (d.job_id) return '#/jobs/' + encodeURIComponent(d.job_id);
  if (d.conversation_id) return '#/c/' + encodeURIComponent(d.conversation_id);
  return null;
}

function renderBadge() {
  const badge = $('#notif-badge');
  badge.replaceChildren(String(unread), el('span', { className: 'sr-only', textContent: ' unread' }));
  badge.hidden = unread === 0;
}

function renderNotifications() {
  renderBadge();
  const focused = document.activeElement && document.activeElement.closest('#notif-list li');
  const focusedId = focused ? focused.dataset.id : null;
  $('#notif-list').replaceChildren(...state.notifications.map(notificationItem));
  $('#notif-empty').hidden = state.notifications.length > 0;
  $('#notif-read-all').disabled = unread === 0;
  if (focusedId) {
    const again = $(`#notif-list li[data-id="${CSS.escape(focusedId)}"] button`);
    if (again) again.focus();
  }
}

function notificationItem(n) {
  const when = new Date(n.created_at);
  const button = el('button', { type: 'button', className: 'notif-item' },
    n.read ? null : el('span', { className: 'sr-only', textContent: 'Unread: ' }),
    n.read ? null : el('span', { className: 'notif-dot' }),
    el('span', { className: 'notif-text', textContent: notificationText(n) }),
    el('time', { className: 'muted', dateTime: n.created_at, textContent: when.toLocaleString() }));
  button.addEventListener('click', act(() => openNotification(n)));
  const li = el('li', { className: 'notif' + (n.read ? '' : ' unread') }, button);
  li.dataset.id = n.id;
  li.dataset.type = n.type;
  return li;
}

// Marks it read, closes the drawer and goes where it leads.
async function openNotification(n) {
  const target = notificationTarget(n);
  if (!n.read) {
    await api('POST', `/notifications/${encodeURIComponent(n.id)}/read`);
    n.read = true;
    unread = Math.max(0, unread - 1);
    renderNotifications();
  }
  closeDrawer(!target);
  if (target) location.hash = target;
}

async function readAll() {
  await api('POST', '/notifications/read-all');
  for (const n of state.notifications) n.read = true;
  unread = 0;
  renderNotifications();
}

export async function openDrawer() {
  drawer().hidden = false;
  toggle().setAttribute('aria-expanded', 'true');
  $('#notif-title').focus();
  await loadNotifications();
}

// refocus: give the focus back to the Alerts button (Escape, the close button).
export function closeDrawer(refocus) {
  if (drawer().hidden) return;
  drawer().hidden = true;
  toggle().setAttribute('aria-expanded', 'false');
  if (refocus) toggle().focus();
}

export function bindNotifications(s) {
  s.notif.on('connect', act(async () => {
    await loadNotifications();
    // Opened from a push about a notification (sw.js): show them.
    if (new URLSearchParams(location.search).has('alerts')) {
      history.replaceState(null, '', location.pathname + location.hash);
      await openDrawer();
    }
  }));
  s.notif.on('notification', (n) => {
    if (state.notifications.some((known) => known.id === n.id)) return;
    recent = [...recent.slice(-49), { at: ++arrivals, n }];
    state.notifications.unshift(n);
    if (!n.read) unread += 1;
    renderNotifications();
    // A bid on (or a change to) the job on screen: show it.
    if (n.data && n.data.job_id && n.data.job_id === jobOnScreen()) act(openJob)(n.data.job_id);
  });
}

onProfile(() => { if (state.notifications.length) renderNotifications(); });

toggle().addEventListener('click', act(async () => {
  if (drawerOpen()) closeDrawer(true);
  else await openDrawer();
}));
$('#notif-close').addEventListener('click', () => closeDrawer(true));
$('#notif-read-all').addEventListener('click', act(readAll));
// A press anywhere outside the drawer (mouse or touch) closes it.
document.addEventListener('pointerdown', (ev) => {
  if (drawerOpen() && !drawer().contains(ev.target) && !toggle().contains(ev.target)) closeDrawer(false);
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && drawerOpen()) { ev.preventDefault(); closeDrawer(true); }
});
