// System lines and marketplace cards: the messages the hub writes itself
// (docs/protocol.md "System and card messages"), rendered from their `card`.
import { state } from './state.js';
import { el, money } from './ui.js';
import { api } from './api.js';
import { userName } from './users.js';

// `system` lines for participant, title and call changes, `card` boxes for a
// bid's marketplace events; `text` is the fallback.
// Who did it: the sender of a text message, the actor of a system or card one.
export const authorOf = (m) => m.sender_id ?? m.actor_id;

const nameOf = (id) => (id ? userName(id) : 'Someone');
const names = (ids) => {
  const all = (ids || []).map(nameOf);
  return all.length > 1 ? `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}` : all.join('');
};

function duration(seconds) {
  const s = Math.max(0, seconds || 0);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const mmss = `${String(m).padStart(h ? 2 : 1, '0')}:${String(r).padStart(2, '0')}`;
  return h ? `${h}:${mmss}` : mmss;
}

// The line a system message shows, in the viewer's words ("You added Bob").
function systemText(m) {
  const card = m.card || {};
  const actor = nameOf(m.actor_id);
  if (card.type === 'participants' && card.state === 'added') return `${actor} added ${names(card.user_ids)}`;
  if (card.type === 'participants' && card.state === 'removed') return `${actor} removed ${names(card.user_ids)}`;
  if (card.type === 'participants' && card.state === 'left') return `${actor} left`;
  if (card.type === 'title' && card.title) return `${actor} changed the title to “${card.title}”`;
  if (card.type === 'call' && card.state === 'ended' && !m.text) return `Call ended · ${duration(card.duration_s)}`;
  return m.text || 'Something changed';
}

const CARD_TYPES = { bid: 'Bid', milestone: 'Milestone', job: 'Job' };
const cardHeading = (card) =>
  `${CARD_TYPES[card.type] || card.type || 'Update'} ${String(card.state || '').replace(/_/g, ' ')}`.trim();

// The list preview of a conversation's last message.
export function previewText(m) {
  if (m.deleted) return 'message deleted';
  if (m.kind === 'system') return systemText(m);
  if (m.kind === 'card') return cardHeading(m.card || {}) + (m.card && m.card.title ? `: ${m.card.title}` : '');
  return `${nameOf(authorOf(m))}: ${m.text}`;
}

export function systemItem(m, extras) {
  const li = el('li', { className: 'system-line' + (m.pinned ? ' pinned' : '') },
    el('span', { className: 'sys-text', textContent: systemText(m) }),
    el('time', { textContent: new Date(m.created_at).toLocaleTimeString() }), ...extras);
  li.dataset.seq = String(m.seq);
  return li;
}

export function cardItem(m, extras) {
  const card = m.card || {};
  const li = el('li', { className: 'card-msg' + (m.pinned ? ' pinned' : '') },
    el('div', { className: 'card-head', textContent: cardHeading(card) }),
    card.title ? el('div', { className: 'card-title', textContent: card.title }) : null,
    card.amount != null && card.currency ? el('div', { className: 'card-amount', textContent: money(card.amount, card.currency) }) : null,
    el('div', { className: 'meta' },
      el('span', { className: 'who', textContent: 'by ' + nameOf(m.actor_id) }),
      el('time', { textContent: new Date(m.created_at).toLocaleTimeString() })),
    jobLink(card), ...extras);
  li.dataset.seq = String(m.seq);
  li.dataset.state = card.state || '';
  return li;
}

// ---------- the job a card is about ----------
// A card's ref names a job, a bid or a milestone; the link opens the job's page
// (its bids and milestones are there). Bids and milestones name their job: looked
// up once each (GET /bids/{id}, GET /milestones/{id}), the link shows when known.
const milestoneJobs = new Map();  // milestone id -> job id, null while looking up
const waiting = new Map();        // 'bid:<id>' | 'milestone:<id>' -> links to fill in

function jobLink(card) {
  const ref = card.ref || {};
  if (!['job', 'bid', 'milestone'].includes(ref.type) || !ref.id) return null;
  const link = el('a', { className: 'card-link', textContent: 'View the job' });
  link.setAttribute('aria-label', `${cardHeading(card)}: view the job`);
  const known = ref.type === 'job' ? ref.id : (ref.type === 'bid' ? state.bidJobs : milestoneJobs).get(ref.id);
  if (known) point(link, known);
  else { link.hidden = true; lookUp(ref, link); }
  return link;
}

function point(link, jobId) {
  link.href = '#/jobs/' + encodeURIComponent(jobId);
  link.hidden = false;
}

function lookUp(ref, link) {
  const key = `${ref.type}:${ref.id}`;
  if (waiting.has(key)) { waiting.get(key).push(link); return; }
  waiting.set(key, [link]);
  const jobs = ref.type === 'bid' ? state.bidJobs : milestoneJobs;
  api('GET', `/${ref.type === 'bid' ? 'bids' : 'milestones'}/${encodeURIComponent(ref.id)}`)
    .then((thing) => {
      jobs.set(ref.id, thing.job_id);
      for (const l of waiting.get(key)) if (l.isConnected) point(l, thing.job_id);
    })
    .catch(() => {})  // not ours to see (a 403), or gone: no link
    .finally(() => waiting.delete(key));
}
