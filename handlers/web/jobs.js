// Jobs and bids (REST /jobs, /bids): the jobs list, a job's page with its bids,
// posting a job, placing a bid, and the conversation about a bid.
import { state } from './state.js';
import { $, el, act, money, minorDigits } from './ui.js';
import { api } from './api.js';
import { emit } from './socket.js';
import { userName, onProfile } from './users.js';
import { upsertConversation } from './chat.js';

// A bid in one of these states blocks another bid from the same freelancer.
const ACTIVE_BIDS = ['pending', 'shortlisted', 'awarded', 'accepted'];

const toMinor = (value, currency) => Math.round(Number(value) * 10 ** minorDigits(currency));
const budget = (job) => `${money(job.budget_min, job.currency)} – ${money(job.budget_max, job.currency)}`;

export async function loadJobs() {
  const client = state.me.role === 'client';
  $('#job-form').hidden = !client;
  $('#my-jobs-box').hidden = !client;
  const open = await api('GET', '/jobs?status=open&limit=50');
  renderJobList('#jobs', '#no-jobs', open.items);
  if (client) {
    const mine = await api('GET', '/jobs?limit=50&owner_id=' + encodeURIComponent(state.me.id));
    renderJobList('#my-jobs', '#no-my-jobs', mine.items);
  }
}

function renderJobList(listSel, emptySel, jobs) {
  $(listSel).replaceChildren(...jobs.map((job) => {
    const b = el('button', { type: 'button', className: 'conv-item' },
      el('span', { className: 'name', textContent: job.title }),
      el('span', { textContent: `${budget(job)} · ${job.type}` }),
      el('span', { className: 'last', textContent: `${job.status} · ${job.skills.join(', ') || 'no skills listed'}` }));
    b.addEventListener('click', () => { location.hash = '#/jobs/' + encodeURIComponent(job.id); });
    const li = el('li', { className: 'job' }, b);
    li.dataset.id = job.id;
    return li;
  }));
  $(emptySel).hidden = jobs.length > 0;
}

// The id of the job whose page is on screen, if any.
export const jobOnScreen = () => (location.hash.startsWith('#/jobs/') ? decodeURIComponent(location.hash.slice(7)) : null);

// The job and its bids: the owner sees every bid, anyone else only their own.
export async function openJob(id) {
  if (!state.job || state.job.job.id !== id) clearJobPage();  // another job's page must not show meanwhile
  const job = await api('GET', '/jobs/' + encodeURIComponent(id));
  const bids = await api('GET', `/jobs/${encodeURIComponent(id)}/bids?limit=100`);
  if (jobOnScreen() !== id) return;  // the user moved on meanwhile
  state.job = { job, bids: bids.items };
  for (const bid of bids.items) state.bidJobs.set(bid.id, job.id);
  renderJob();
}

function clearJobPage() {
  state.job = null;
  $('#job-title').textContent = 'Loading…';
  for (const sel of ['#job-meta', '#job-description', '#job-skills']) $(sel).textContent = '';
  $('#bids').replaceChildren(); $('#no-bids').hidden = true; $('#bid-form').hidden = true;
}

function renderJob() {
  if (!state.job || !state.me) return;
  const { job, bids } = state.job;
  const owner = job.owner_id === state.me.id;
  $('#job-title').textContent = job.title;
  $('#job-meta').textContent = `${job.status} · ${job.type === 'hourly' ? 'hourly' : 'fixed price'} · ${budget(job)} · posted by ${userName(job.owner_id)}`;
  $('#job-description').textContent = job.description;
  $('#job-skills').textContent = job.skills.length ? 'Skills: ' + job.skills.join(', ') : '';
  $('#bids-heading').textContent = owner ? 'Bids' : 'Your bid';
  $('#bids').replaceChildren(...bids.map((bid) => bidItem(job, bid, owner)));
  $('#no-bids').textContent = owner ? 'No bids yet.' : 'You have not bid on this job.';
  $('#no-bids').hidden = bids.length > 0;
  const mine = bids.some((b) => b.freelancer_id === state.me.id && ACTIVE_BIDS.includes(b.status));
  $('#bid-form').hidden = !(state.me.role === 'freelancer' && job.status === 'open' && !owner && !mine);
  $('#bid-currency').textContent = job.currency;
}

function bidItem(job, bid, owner) {
  const party = owner || bid.freelancer_id === state.me.id;
  const talk = party ? el('button', { type: 'button', className: 'bid-chat', textContent: 'Open conversation' }) : null;
  if (talk) talk.addEventListener('click', act(() => openBidConversation(job, bid)));
  const li = el('li', { className: 'bid card' },
    el('p', null, el('strong', { className: 'who', textContent: userName(bid.freelancer_id) }),
      ` · ${money(bid.amount, bid.currency)} in ${bid.period_days} day${bid.period_days === 1 ? '' : 's'} · `,
      el('span', { className: 'bid-status', textContent: bid.status })),
    el('p', { className: 'proposal pre', textContent: bid.proposal }),
    talk);
  li.dataset.id = bid.id;
  return li;
}

// The bid's conversation, between the job's owner and the bidder: the one an
// accepted bid names, or one already here with the bid's context; otherwise a
// create with the bid's context, which returns the bid's one conversation,
// opening it if needed (the hub picks a direct conversation or a group of two).
async function openBidConversation(job, bid) {
  const sock = state.sockets.conv;
  state.bidJobs.set(bid.id, job.id);
  const isBid = (c) => c && c.context && c.context.type === 'bid' && c.context.id === bid.id;
  let c = bid.conversation_id ? await emit(sock, 'conversation:get', { conversation_id: bid.conversation_id })
    : [...state.convs.values()].find(isBid);
  if (!c) {
    const peer = state.me.id === bid.freelancer_id ? job.owner_id : bid.freelancer_id;
    c = await emit(sock, 'conversation:create',
      { participant_ids: [peer], context: { type: 'bid', id: bid.id } });
  }
  upsertConversation(c, !state.convs.has(c.id));
  location.hash = '#/c/' + encodeURIComponent(c.id);
}

onProfile(renderJob);

$('#job-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;  // (form.title would be the form's own title attribute)
  const currency = f.currency.value;
  const job = await api('POST', '/jobs', {
    title: f.title.value.trim(), description: f.description.value.trim(),
    skills: f.skills.value.split(',').map((s) => s.trim()).filter(Boolean),
    budget_min: toMinor(f.budget_min.value, currency), budget_max: toMinor(f.budget_max.value, currency),
    currency, type: f.type.value, publish: true });
  ev.target.reset();
  location.hash = '#/jobs/' + encodeURIComponent(job.id);
}));
$('#bid-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const job = state.job.job;
  await api('POST', `/jobs/${encodeURIComponent(job.id)}/bids`, {
    amount: toMinor(f.amount.value, job.currency), currency: job.currency,
    period_days: Number(f.period_days.value), proposal: f.proposal.value.trim() });
  ev.target.reset();
  await openJob(job.id);
}));
