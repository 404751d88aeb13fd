// The admin screens (#/admin/<tab>, admins only; app.js shows the others the
// "Admins only" view and never calls these): the moderation queue with a
// reported message's context, disputes and their split, users (listed with
// their moderation state, found by name or email, filtered by state; suspend,
// ban, unban, role), networking lobbies with their usage, and the audit log.
// REST: docs/protocol.md (moderation, marketplace, networking).
import { state } from './state.js';
import { $, el, act, money, minorDigits, onSubmit } from './ui.js';
import { api, newKey, HubError } from './api.js';
import { userName, loadProfiles } from './users.js';
import { statusLabel, reasonLabel, auditLabel, roleLabel, REPORT_ACTION_LABELS } from './labels.js';
import { retryKeys, once, toMinor } from './wallet.js';

const TABS = ['reports', 'disputes', 'users', 'lobbies', 'audit'];
const reports = new Map();  // report id -> report, from the queue or a context read
let shown = null;           // what is on screen: {tab, id}
let auditCursor = null;

export const isAdmin = () => !!(state.me && state.me.role === 'admin');

const when = (iso) => new Date(iso).toLocaleString();
// A datetime-local value (the browser's time zone) as the API's UTC ISO time.
const isoOf = (local) => (local ? new Date(local).toISOString() : undefined);

// path: what follows #/admin, e.g. "/reports/<id>".
export async function showAdmin(path) {
  const [tab = 'reports', id = null] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const name = TABS.includes(tab) ? tab : 'reports';
  shown = { tab: name, id };
  for (const link of document.querySelectorAll('#view-admin .tabs a')) {
    if (link.dataset.tab === name) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  const pane = id && (name === 'reports' || name === 'users') ? name.slice(0, -1) : name;
  for (const div of document.querySelectorAll('#view-admin .admin-tab')) div.hidden = div.id !== 'admin-' + pane;
  if (pane === 'reports') await loadReports();
  else if (pane === 'report') await openReport(id);
  else if (pane === 'disputes') await loadDisputes();
  else if (pane === 'users') { $('#user-search-form').elements.namedItem('q').focus(); await loadUsers(true); }
  else if (pane === 'user') await openUser(id);
  else if (pane === 'lobbies') await loadLobbies();
  else if (pane === 'audit') await loadAudit(true);
}

const onScreen = (tab, id) => shown && shown.tab === tab && shown.id === id && location.hash.startsWith('#/admin');

// ---------- reports ----------

async function loadReports() {
  const page = await api('GET', '/admin/reports?status=open&limit=50');
  await names(page.items.flatMap((r) => [r.reporter_id, r.subject_id]));
  for (const r of page.items) reports.set(r.id, r);
  $('#reports').replaceChildren(...page.items.map((r) => {
    const b = el('button', { type: 'button', className: 'conv-item' },
      el('span', { className: 'name', textContent: reasonLabel(r.reason) }),
      el('span', { textContent: when(r.created_at) }),
      el('span', { className: 'last', textContent: reportLine(r) }));
    b.addEventListener('click', () => { location.hash = '#/admin/reports/' + encodeURIComponent(r.id); });
    const li = el('li', { className: 'report' }, b);
    li.dataset.id = r.id;
    return li;
  }));
  $('#no-reports').hidden = page.items.length > 0;
}

const TARGETS = { message: 'a message', user: 'a user', conversation: 'a conversation', job: 'a job' };
const reportLine = (r) => `${userName(r.reporter_id)} reported ${TARGETS[r.target.type] || r.target.type}`
  + (r.subject_id ? ` by ${userName(r.subject_id)}` : '') + (r.note ? ` · “${r.note}”` : '');

async function openReport(id) {
  for (const sel of ['#report-meta', '#report-note', '#report-result']) $(sel).textContent = '';
  $('#report-title').textContent = 'Loading…';
  $('#report-context').replaceChildren();
  let report = reports.get(id);
  let context = null;
  if (!report || report.conversation_id) {
    context = await api('GET', `/admin/reports/${encodeURIComponent(id)}/context`);
    report = context.report;
    reports.set(id, report);
  }
  await names([report.reporter_id, report.subject_id, ...(context ? [...context.before, context.message, ...context.after].map((m) => m && m.sender_id) : [])]);
  if (!onScreen('reports', id)) return;
  renderReport(report, context);
}

function renderReport(report, context) {
  $('#report-title').textContent = `${reasonLabel(report.reason)}: ${TARGETS[report.target.type] || report.target.type}`;
  $('#report-meta').textContent = reportLine({ ...report, note: '' }) + ` · ${when(report.created_at)}`
    + (report.status === 'resolved' ? ` · Resolved: ${REPORT_ACTION_LABELS[report.action] || report.action}` : '');
  $('#report-note').textContent = report.note ? `Their note: ${report.note}` : '';
  const messages = context ? [...context.before, ...(context.message ? [context.message] : []), ...context.after] : [];
  $('#report-context').replaceChildren(...messages.map((m) => contextItem(m, context.message && m.id === context.message.id)));
  $('#report-no-context').hidden = !!context;
  const form = $('#resolve-report-form');
  form.hidden = report.status !== 'open';
  form.reset();
  const option = (value, can) => Object.assign(form.elements.namedItem('action').querySelector(`[value=${value}]`), { hidden: !can, disabled: !can });
  option('delete_message', report.target.type === 'message');
  for (const value of ['warn', 'suspend', 'ban']) option(value, !!report.subject_id);
  untilShown(form);
  const subject = $('#report-subject');
  subject.hidden = !report.subject_id;
  if (report.subject_id) {
    subject.href = '#/admin/users/' + encodeURIComponent(report.subject_id);
    subject.textContent = `Manage ${userName(report.subject_id)}`;
  }
  const reported = $('#report-context .reported');
  if (reported) reported.scrollIntoView({ block: 'center' });
}

// A message as moderators read it: the original text, and whether the
// participants saw it masked.
function contextItem(m, reported) {
  const li = el('li', { className: 'msg' + (reported ? ' reported' : '') + (m.deleted ? ' deleted' : '') },
    el('div', { className: 'text', textContent: m.deleted ? 'message deleted' : (m.text || (m.attachments.length ? '(files)' : '')) }),
    el('span', { className: 'meta' },
      el('span', { className: 'who', textContent: m.sender_id ? userName(m.sender_id) : 'The hub' }),
      el('time', { textContent: when(m.created_at) }),
      reported ? el('strong', { textContent: 'Reported message' }) : null,
      m.masked ? el('span', { className: 'masked', textContent: 'Participants saw it with contact details hidden; this is what was written.' }) : null));
  if (reported) li.setAttribute('aria-current', 'true');
  li.dataset.seq = String(m.seq);
  return li;
}

function untilShown(form) {
  const suspend = form.elements.namedItem('action').value === 'suspend';
  const until = form.elements.namedItem('until');
  until.closest('label').hidden = !suspend;
  until.required = suspend;
}

$('#resolve-report-form').elements.namedItem('action').addEventListener('change', (ev) => untilShown(ev.target.form));
onSubmit($('#resolve-report-form'), (fields, form) => once(form, async () => {
  const id = shown.id;
  const body = { action: fields.action, note: fields.note.trim() };
  if (fields.action === 'suspend') body.until = isoOf(fields.until);
  const report = await api('POST', `/admin/reports/${encodeURIComponent(id)}/resolve`, body, newKey());
  reports.set(id, report);
  if (!onScreen('reports', id)) return;
  form.hidden = true;
  $('#report-result').textContent = `Resolved: ${REPORT_ACTION_LABELS[report.action] || report.action}.`;
  $('#report-meta').textContent = reportLine({ ...report, note: '' }) + ` · Resolved: ${REPORT_ACTION_LABELS[report.action] || report.action}`;
}));

// ---------- disputes ----------

async function loadDisputes() {
  const page = await api('GET', '/admin/disputes?limit=50');
  await names(page.items.flatMap((d) => [d.owner_id, d.freelancer_id]));
  if (!onScreen('disputes', null)) return;
  $('#disputes').replaceChildren(...page.items.map(disputeItem));
  $('#no-disputes').hidden = page.items.length > 0;
}

function disputeItem(d) {
  const m = d.milestone;
  const digits = minorDigits(m.currency);
  // Each side: its dispute note (the latest it wrote, and when), then what it
  // said last in the job's conversation.
  const side = (who, role, note, said) => el('div', { className: 'notes' },
    el('h5', { textContent: `${userName(who)}, the ${role}` }),
    note
      ? el('div', { className: 'stated-note' },
        el('p', { className: 'pre note-text', textContent: note.text }),
        el('p', { className: 'muted note-time' }, 'Note written ', el('time', { dateTime: note.updated_at, textContent: when(note.updated_at) })))
      : el('p', { className: 'muted note-text', textContent: 'No dispute note.' }),
    said.length
      ? el('div', { className: 'said' }, el('p', { className: 'muted', textContent: 'Latest in the job’s conversation:' }),
        el('ul', null, ...said.map((n) => el('li', { className: 'pre', textContent: n.text }))))
      : el('p', { className: 'muted said', textContent: 'Nothing in the job’s conversation.' }));
  // At most what is held: the hub says so next to the field (its 422).
  const input = el('input', { name: 'freelancer_amount', type: 'number', required: true, min: '0', step: (1 / 10 ** digits).toFixed(digits), inputMode: 'decimal' });
  Object.assign(input.dataset, { schema: 'ResolveMilestone.freelancer_amount', money: '', currency: m.currency });
  const rest = el('p', { className: 'muted split', 'aria-live': 'polite' });
  const form = el('form', { id: 'resolve-' + m.id, className: 'resolve-dispute' },
    el('label', null, `To ${userName(d.freelancer_id)}, the freelancer (${m.currency})`, input),
    rest,
    el('button', { type: 'submit', textContent: 'Resolve dispute' }));
  const split = () => {
    const part = Math.min(Math.max(toMinor(input.value || 0, m.currency), 0), m.held);
    rest.textContent = `${money(m.held - part, m.currency)} goes back to ${userName(d.owner_id)}, the client. The platform fee comes out of the freelancer's part.`;
  };
  input.addEventListener('input', split);
  split();
  const keys = retryKeys();
  onSubmit(form, (fields) => once(form, async () => {
    const body = { freelancer_amount: toMinor(fields.freelancer_amount, m.currency) };
    if (body.freelancer_amount > m.held) {  // shown next to the field, as the hub's 422 would be
      throw new HubError('validation_failed', 'Too much', { fields: [{ field: 'freelancer_amount', message: `At most the ${money(m.held, m.currency)} held.` }] });
    }
    try { await api('POST', `/admin/milestones/${encodeURIComponent(m.id)}/resolve`, body, keys.key(body)); keys.settle(null); }
    catch (err) { keys.settle(err); throw err; }
    $('#dispute-result').textContent = `Resolved “${m.description}”: ${money(body.freelancer_amount, m.currency)} to ${userName(d.freelancer_id)}, ${money(m.held - body.freelancer_amount, m.currency)} back to ${userName(d.owner_id)}.`;
    await loadDisputes();
  }));
  const li = el('li', { className: 'bid card dispute' },
    el('h4', { textContent: m.description }),
    el('p', { textContent: `${statusLabel(m.status)} · ${money(m.held, m.currency)} held · client ${userName(d.owner_id)} · freelancer ${userName(d.freelancer_id)}` }),
    side(d.owner_id, 'client', d.owner_note, d.owner_notes),
    side(d.freelancer_id, 'freelancer', d.freelancer_note, d.freelancer_notes), form);
  li.dataset.id = m.id;
  return li;
}

// ---------- users ----------

// Every user (banned and suspended ones too) with their moderation state, newest
// first, filtered by the search box and the status; "More users" pages on.
let usersCursor = null;
let usersLoad = 0;  // only the latest list answer is drawn

async function loadUsers(first) {
  const form = $('#user-search-form');
  const q = form.elements.namedItem('q').value.trim();
  const status = form.elements.namedItem('status').value;
  const load = ++usersLoad;
  if (first) usersCursor = null;
  const params = new URLSearchParams({ limit: '20' });
  if (q) params.set('q', q);
  if (status) params.set('status', status);
  if (usersCursor) params.set('cursor', usersCursor);
  const page = await api('GET', '/admin/users?' + params);
  if (load !== usersLoad || !onScreen('users', null)) return;
  const items = page.items.map(userItem);
  if (first) $('#user-results').replaceChildren(...items); else $('#user-results').append(...items);
  usersCursor = page.next_cursor;
  $('#user-more').hidden = !usersCursor;
  $('#no-user-results').hidden = $('#user-results').children.length > 0;
}

// "Suspended until <date>", "Banned", "Active".
const stateText = (u) => statusLabel(u.status) + (u.status === 'suspended' ? ` until ${when(u.suspended_until)}` : '');

function userItem(u) {
  const b = el('button', { type: 'button', className: 'conv-item' },
    el('span', { className: 'name', textContent: u.display_name }),
    el('span', { className: 'state ' + u.status, textContent: stateText(u) }),
    el('span', { className: 'last', textContent: `${roleLabel(u.role)} · ${u.email}` }));
  b.addEventListener('click', () => { location.hash = '#/admin/users/' + encodeURIComponent(u.id); });
  const li = el('li', { className: 'user' }, b);
  li.dataset.id = u.id;
  li.dataset.status = u.status;
  return li;
}

onSubmit($('#user-search-form'), () => loadUsers(true));
$('#user-search-form').elements.namedItem('status').addEventListener('change', act(() => loadUsers(true)));
$('#user-more').addEventListener('click', act(() => loadUsers(false)));

// The account and its moderation state (GET /admin/users/{id}), and the admin
// actions on it (the audit log); every action answers the state itself.
// Only the latest read of a user is drawn, and the role can be picked once it is
// (the read sets the picker to the user's role: a pick made earlier would be undone).
let userLoad = 0;
async function openUser(id) {
  const seq = ++userLoad;
  const role = $('#role-form').elements.namedItem('role');
  role.disabled = true;
  $('#admin-user-name').textContent = 'Loading…';
  for (const sel of ['#admin-user-meta', '#admin-user-state']) $(sel).textContent = '';
  const [user, history] = await Promise.all([
    api('GET', '/admin/users/' + encodeURIComponent(id)),
    api('GET', '/admin/audit?limit=50&target_id=' + encodeURIComponent(id))]);
  await names([id, ...history.items.map((e) => e.actor_id)]);
  if (seq !== userLoad || !onScreen('users', id)) return;
  $('#admin-user-name').textContent = user.display_name;
  $('#admin-user-meta').textContent = `${roleLabel(user.role)} · joined ${when(user.created_at)} · ${user.email} · id ${user.id}`;
  role.value = user.role;
  role.disabled = false;
  for (const form of ['#suspend-form', '#ban-form']) $(form).reset();
  renderModeration(user);
  $('#admin-user-history').replaceChildren(...history.items.map(auditItem));
}

function renderModeration(u) {
  $('#admin-user-state').textContent = u.status === 'banned' ? `Banned since ${when(u.banned_at)}.`
    : u.status === 'suspended' ? `Suspended until ${when(u.suspended_until)}.` : 'Active: not banned or suspended.';
  $('#unban').hidden = u.status === 'active';
}

async function moderate(path, body) {
  const id = shown.id;
  const user = await api('POST', `/admin/users/${encodeURIComponent(id)}/${path}`, body, newKey());
  if (onScreen('users', id)) { renderModeration(user); await openUser(id); }
}

onSubmit($('#suspend-form'), (fields, form) => once(form, () => moderate('suspend', { until: isoOf(fields.until), reason: fields.reason.trim() })));
onSubmit($('#ban-form'), (fields, form) => once(form, () => moderate('ban', { reason: fields.reason.trim() })));
$('#unban').addEventListener('click', act(async () => {
  const button = $('#unban');
  button.disabled = true;
  try { await moderate('unban', undefined); } finally { button.disabled = false; }
}));
onSubmit($('#role-form'), (fields, form) => once(form, async () => {
  const id = shown.id;
  const user = await api('PATCH', `/admin/users/${encodeURIComponent(id)}`, { role: fields.role });
  state.users.set(user.id, user);
  if (onScreen('users', id)) await openUser(id);
}));

// ---------- lobbies ----------

async function loadLobbies() {
  const [page, usage] = await Promise.all([api('GET', '/networking/lobbies?limit=100'), api('GET', '/networking/analytics/usage')]);
  if (!onScreen('lobbies', null)) return;
  $('#admin-lobbies-list').replaceChildren(...page.items.map((l) => {
    const li = el('li', { className: 'lobby card' },
      el('strong', { textContent: l.title }),
      el('span', { textContent: `${l.topic} · ${l.duration_minutes} min sessions · ${statusLabel(l.status)}` }),
      el('span', { className: 'muted', textContent: `${l.waiting} waiting · ${l.active_sessions} in sessions`
        + (l.starts_at ? ` · opens ${when(l.starts_at)}` : '') + (l.ends_at ? ` · closes ${when(l.ends_at)}` : '') }));
    li.dataset.id = l.id;
    return li;
  }));
  $('#no-admin-lobbies').hidden = page.items.length > 0;
  const pct = (x) => (x == null ? '—' : `${Math.round(x * 100)}%`);
  const row = (name, u) => el('tr', null, el('th', { scope: 'row', textContent: name }),
    el('td', { textContent: String(u.sessions) }),
    el('td', { textContent: u.average_rating == null ? String(u.ratings) : `${u.ratings} (${u.average_rating.toFixed(1)} ★)` }),
    el('td', { textContent: u.connect_rate == null ? String(u.connections) : `${u.connections} (${pct(u.connect_rate)})` }));
  $('#usage').replaceChildren(...usage.lobbies.map((u) => row(u.title, u)),
    ...usage.by_duration.map((u) => row(`All ${u.duration_minutes} min lobbies`, u)), row('Total', usage.total));
}

onSubmit($('#lobby-form'), (fields, form) => once(form, async () => {
  const body = { title: fields.title.trim(), topic: fields.topic.trim(), duration_minutes: Number(fields.duration_minutes) };
  if (fields.starts_at) body.starts_at = isoOf(fields.starts_at);
  if (fields.ends_at) body.ends_at = isoOf(fields.ends_at);
  await api('POST', '/networking/lobbies', body, newKey());
  form.reset();
  if (onScreen('lobbies', null)) await loadLobbies();
}));

// ---------- the audit log ----------

async function loadAudit(first) {
  if (first) auditCursor = null;
  const page = await api('GET', '/admin/audit?limit=50' + (auditCursor ? '&cursor=' + encodeURIComponent(auditCursor) : ''));
  await names(page.items.flatMap((e) => [e.actor_id, e.target_type === 'user' ? e.target_id : null]));
  const items = page.items.map(auditItem);
  if (first) $('#audit').replaceChildren(...items); else $('#audit').append(...items);
  auditCursor = page.next_cursor;
  $('#audit-more').hidden = !auditCursor;
}

const TARGET_LINKS = { user: '#/admin/users/', report: '#/admin/reports/' };
const TARGET_WORDS = { milestone: 'a milestone', milestones: 'the disputed milestones', conversation: 'a conversation', message: 'a message', report: 'a report' };

function auditItem(e) {
  const actor = e.actor_id === 'cli' ? 'The command line' : userName(e.actor_id);
  const targetText = e.target_type === 'user' ? userName(e.target_id) : (TARGET_WORDS[e.target_type] || e.target_type);
  const target = TARGET_LINKS[e.target_type]
    ? el('a', { href: TARGET_LINKS[e.target_type] + encodeURIComponent(e.target_id), textContent: targetText })
    : el('span', { textContent: targetText });
  const extra = [];
  if (e.details.until) extra.push(`until ${when(e.details.until)}`);
  if (e.details.role) extra.push(`to ${roleLabel(e.details.role)}`);
  if (e.reason) extra.push(`“${e.reason}”`);
  const li = el('li', { className: 'audit-entry' },
    el('time', { className: 'muted', textContent: when(e.at) }), ' ',
    el('strong', { textContent: actor }), ` · ${auditLabel(e.action)} · `, target,
    extra.length ? ' · ' + extra.join(' · ') : '');
  li.dataset.action = e.action;
  return li;
}

$('#audit-more').addEventListener('click', act(() => loadAudit(false)));

// The profiles of the users a list names, before it is drawn ("cli": the command line).
const names = (ids) => loadProfiles([...new Set(ids.filter((id) => id && id !== 'cli'))]);
