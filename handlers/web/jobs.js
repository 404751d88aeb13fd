// Jobs and bids (REST /jobs, /bids): finding open jobs, a client's own jobs, a
// freelancer's bids and work, posting a job (draft or published), a job's page
// with what its owner and its bidders can do. The job page's milestones and
// reviews are milestones.js and reviews.js, the conversation beside each bid
// bidchat.js.
import { state } from './state.js';
import { $, el, act, money, onSubmit, clearFieldErrors } from './ui.js';
import { api } from './api.js';
import { userName, onProfile } from './users.js';
import { bidParty, bidConversationPanel } from './bidchat.js';
import { statusLabel, jobTypeLabel } from './labels.js';
import { toMinor, toUnits, post } from './market.js';
import { loadMilestones, renderMilestones } from './milestones.js';
import { loadReviews, renderReviews } from './reviews.js';

// A bid in one of these states blocks another bid from the same freelancer.
const ACTIVE_BIDS = ['pending', 'shortlisted', 'awarded', 'accepted'];
// The bids the owner can still shortlist, award or reject, and the bidder withdraw.
const OPEN_BIDS = ['pending', 'shortlisted'];
// The hub compares budgets in minor units whatever the job's currency; the
// search form's amounts are typed in units of a two-decimal currency (USD, EUR, GBP).
const SEARCH_DIGITS_OF = 'USD';

const enc = encodeURIComponent;
const budget = (job) => `${money(job.budget_min, job.currency)} – ${money(job.budget_max, job.currency)}`;
const skillList = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
const isOwner = (job) => !!state.me && job.owner_id === state.me.id;
const goToJob = (id) => { location.hash = '#/jobs/' + enc(id); };

// The job's fields, written once in index.html (<template id="job-fields">), copied
// into the post form and the edit form after their headings; each control marked
// data-job-field is sent as <the form's data-job-schema>.<its name> (CreateJob,
// UpdateJob), which limits.js reads. Done when this module loads, before app.js asks
// limits.js for the document (and limits.js also covers controls added later).
for (const form of [$('#job-form'), $('#job-edit-form')]) {
  const fields = $('#job-fields').content.cloneNode(true);
  for (const input of fields.querySelectorAll('[data-job-field]')) {
    input.dataset.schema = `${form.dataset.jobSchema}.${input.name}`;
  }
  form.querySelector('h3').after(fields);
}

// The job fields' values as a request body, the amounts in the currency's minor
// units; the currency itself is the caller's to add (a new job always names it, an
// edit only while the job is a draft).
const jobBody = (fields, currency) => ({
  title: fields.title.trim(), description: fields.description.trim(), skills: skillList(fields.skills),
  budget_min: toMinor(fields.budget_min, currency), budget_max: toMinor(fields.budget_max, currency),
  type: fields.type });

// The jobs page

const listing = { items: [], cursor: null, seq: 0 };

export async function loadJobs() {
  const role = state.me.role;
  $('#job-form').hidden = role !== 'client';
  $('#my-jobs-box').hidden = role !== 'client';
  $('#my-work-box').hidden = role !== 'freelancer';
  await Promise.all([
    searchJobs(false),
    role === 'client' ? loadMyJobs() : null,
    role === 'freelancer' ? loadMyWork() : null,
  ]);
}

// The search form as GET /jobs parameters (open jobs only).
function searchParams(form) {
  const f = form.elements;
  const params = new URLSearchParams({ status: 'open', limit: '20' });
  if (f.q.value.trim()) params.set('q', f.q.value.trim());
  const skills = skillList(f.skills.value).join(',');
  if (skills) params.set('skills', skills);
  for (const name of ['budget_min', 'budget_max']) {
    if (f[name].value !== '') params.set(name, String(toMinor(f[name].value, SEARCH_DIGITS_OF)));
  }
  return params;
}

// The first page of open jobs matching the search form, or (more) the next one.
async function searchJobs(more) {
  const form = $('#job-search');
  const params = searchParams(form);
  const filtered = [...params.keys()].some((k) => !['status', 'limit'].includes(k));
  if (more && listing.cursor) params.set('cursor', listing.cursor);
  const seq = ++listing.seq;
  const page = await api('GET', '/jobs?' + params);
  if (seq !== listing.seq) return;  // a newer search answered meanwhile
  listing.items = more ? [...listing.items, ...page.items] : page.items;
  listing.cursor = page.next_cursor;
  renderJobList('#jobs', '#no-jobs', listing.items, (job) =>
    `${statusLabel(job.status)} · ${job.skills.join(', ') || 'no skills listed'}`);
  $('#no-jobs').textContent = filtered ? 'No open jobs match your search.' : 'No open jobs right now.';
  $('#jobs-heading').textContent = filtered ? 'Open jobs matching your search' : 'Open jobs';
  $('#jobs-more').hidden = !page.next_cursor;
}

async function loadMyJobs() {
  const mine = await api('GET', '/jobs?limit=50&owner_id=' + enc(state.me.id));
  renderJobList('#my-jobs', '#no-my-jobs', mine.items, (job) =>
    `${statusLabel(job.status)}${job.freelancer_id ? ' · with ' + userName(job.freelancer_id) : ''}`);
}

// The jobs this freelancer bid on, whatever became of them, each with their
// latest bid's state (a job they work on stays here).
async function loadMyWork() {
  const page = await api('GET', '/jobs?limit=50&bidder_id=' + enc(state.me.id));
  const bids = await Promise.all(page.items.map((job) =>
    api('GET', `/jobs/${enc(job.id)}/bids?limit=100`).then((p) => p.items.at(-1), () => null)));
  const bidOf = new Map(page.items.map((job, i) => [job.id, bids[i]]));
  renderJobList('#my-work', '#no-my-work', page.items, (job) => {
    const bid = bidOf.get(job.id);
    const yours = bid ? ` · your bid ${money(bid.amount, bid.currency)}: ${statusLabel(bid.status)}` : '';
    return `${statusLabel(job.status)}${yours}`;
  });
}

function renderJobList(listSel, emptySel, jobs, line) {
  $(listSel).replaceChildren(...jobs.map((job) => {
    const b = el('button', { type: 'button', className: 'conv-item' },
      el('span', { className: 'name', textContent: job.title }),
      el('span', { textContent: `${budget(job)} · ${jobTypeLabel(job.type)}` }),
      el('span', { className: 'last', textContent: line(job) }));
    b.addEventListener('click', () => goToJob(job.id));
    const li = el('li', { className: 'job' }, b);
    li.dataset.id = job.id;
    li.dataset.status = job.status;
    return li;
  }));
  $(emptySel).hidden = jobs.length > 0;
}

// The job page

// The id of the job whose page is on screen, if any.
export const jobOnScreen = () => (location.hash.startsWith('#/jobs/') ? decodeURIComponent(location.hash.slice(7)) : null);

let opening = 0;
let editingBid = null;  // id of the bid whose edit form is open

// The job, its bids (the owner sees every bid, anyone else only their own), and
// for its two parties the milestones and, once completed, the reviews. Called
// again on every notification about the job (notifications.js), so the other
// side's steps show at once.
export async function openJob(id) {
  if (!state.job || state.job.job.id !== id) clearJobPage();  // another job's page must not show meanwhile
  const seq = ++opening;
  const job = await api('GET', '/jobs/' + enc(id));
  const party = isOwner(job) || job.freelancer_id === state.me.id;
  const [bids, milestones, reviews] = await Promise.all([
    api('GET', `/jobs/${enc(id)}/bids?limit=100`),
    party && job.freelancer_id ? loadMilestones(job) : [],
    job.status === 'completed' ? loadReviews(job) : null,
  ]);
  if (jobOnScreen() !== id || seq !== opening) return;  // the user moved on, or a newer load runs
  state.job = { job, bids: bids.items, milestones, reviews };
  for (const bid of bids.items) state.bidJobs.set(bid.id, job.id);
  renderJob();
}

const refresh = () => (state.job ? openJob(state.job.job.id) : Promise.resolve());

function clearJobPage() {
  state.job = null;
  editingBid = null;
  $('#job-title').textContent = 'Loading…';
  for (const sel of ['#job-meta', '#job-description', '#job-skills']) $(sel).textContent = '';
  $('#bids').replaceChildren(); $('#no-bids').hidden = true;
  for (const sel of ['#bid-form', '#job-actions', '#job-edit-form', '#job-cancel-confirm', '#milestones-box', '#reviews-box']) $(sel).hidden = true;
}

function renderJob() {
  if (!state.job || !state.me) return;
  const { job, bids } = state.job;
  const owner = isOwner(job);
  $('#job-title').textContent = job.title;
  const hired = job.freelancer_id ? ` · freelancer: ${userName(job.freelancer_id)}` : '';
  $('#job-meta').textContent = `${statusLabel(job.status)} · ${jobTypeLabel(job.type)} · ${budget(job)} · posted by ${userName(job.owner_id)}${hired}`;
  $('#job-description').textContent = job.description;
  $('#job-skills').textContent = job.skills.length ? 'Skills: ' + job.skills.join(', ') : '';
  renderJobActions(job, owner);
  $('#bids-heading').textContent = owner ? 'Bids' : 'Your bid';
  const focused = document.activeElement;  // a reply being typed beside a bid keeps the focus
  $('#bids').replaceChildren(...bids.map((bid) => bidItem(job, bid, owner)));
  if (focused !== document.activeElement && $('#bids').contains(focused)) focused.focus({ preventScroll: true });
  $('#no-bids').textContent = owner ? 'No bids yet.' : 'You have not bid on this job.';
  $('#no-bids').hidden = bids.length > 0;
  const mine = bids.some((b) => b.freelancer_id === state.me.id && ACTIVE_BIDS.includes(b.status));
  $('#bid-form').hidden = !(state.me.role === 'freelancer' && job.status === 'open' && !owner && !mine);
  $('#bid-currency').textContent = job.currency;
  $('#bid-form').elements.amount.dataset.currency = job.currency;
  renderMilestones(job, state.job.milestones, state.job.bids, refresh);
  renderReviews(job, state.job.reviews, refresh);
}

// The owner's steps of the job, as its state allows (hub/marketplace/states.py JOB).
function renderJobActions(job, owner) {
  const can = {
    '#job-publish': job.status === 'draft',
    '#job-edit': ['draft', 'open'].includes(job.status),
    '#job-complete': job.status === 'in_progress',
    '#job-cancel': ['draft', 'open', 'awarded'].includes(job.status),
  };
  for (const [sel, allowed] of Object.entries(can)) $(sel).hidden = !(owner && allowed);
  $('#job-actions').hidden = !owner || !Object.values(can).some(Boolean);
  if (!owner || !can['#job-edit']) closeEdit();
  if (!owner || !can['#job-cancel']) showCancel(false);
}

function bidItem(job, bid, owner) {
  const mine = bid.freelancer_id === state.me.id;
  const step = (label, action, className) => {
    const b = el('button', { type: 'button', className: className || '', textContent: label });
    b.addEventListener('click', act(async () => {
      await post(`bid:${action}:${bid.id}`, `/bids/${enc(bid.id)}/${action}`);
      await refresh();
    }));
    return b;
  };
  const buttons = [];
  if (owner && job.status === 'open' && bid.status === 'pending') buttons.push(step('Shortlist', 'shortlist'));
  if (owner && job.status === 'open' && OPEN_BIDS.includes(bid.status)) buttons.push(step('Award the job', 'award', 'primary'));
  if (owner && OPEN_BIDS.includes(bid.status)) buttons.push(step('Reject', 'reject'));
  if (mine && bid.status === 'awarded') buttons.push(step('Accept the job', 'accept', 'primary'), step('Decline', 'decline'));
  if (mine && bid.status === 'pending' && editingBid !== bid.id) {
    const edit = el('button', { type: 'button', textContent: 'Edit bid' });
    edit.addEventListener('click', () => { editingBid = bid.id; renderJob(); document.getElementById(`bid-edit-${bid.id}`).elements.amount.focus(); });
    buttons.push(edit);
  }
  if (mine && OPEN_BIDS.includes(bid.status)) buttons.push(step('Withdraw bid', 'withdraw'));
  // The bid, and beside it (below it on a phone) its conversation for its two parties.
  const party = bidParty(job, bid);
  const li = el('li', { className: 'bid' + (party ? ' with-conv' : '') },
    el('div', { className: 'bid-card card' },
      el('p', null, el('strong', { className: 'who', textContent: userName(bid.freelancer_id) }),
        ` · ${money(bid.amount, bid.currency)} in ${bid.period_days} day${bid.period_days === 1 ? '' : 's'} · `,
        el('span', { className: 'bid-status', textContent: statusLabel(bid.status) })),
      el('p', { className: 'proposal pre', textContent: bid.proposal }),
      mine && bid.status === 'pending' && editingBid === bid.id ? bidEditForm(bid) : null,
      buttons.length ? el('div', { className: 'actions' }, ...buttons) : null),
    party ? bidConversationPanel(job, bid, ACTIVE_BIDS.includes(bid.status)) : null);
  li.dataset.id = bid.id;
  li.dataset.status = bid.status;
  return li;
}

// The bidder changes a pending bid (PATCH /bids/{id}).
function bidEditForm(bid) {
  const id = `bid-edit-${bid.id}`;
  const form = el('form', { id, className: 'bid-edit' },
    el('div', { className: 'row' },
      el('label', { className: 'grow' }, `Amount (${bid.currency}) `,
        moneyInput('amount', 'UpdateBid.amount', bid.currency, toUnits(bid.amount, bid.currency))),
      el('label', { className: 'grow' }, 'Delivery in days ',
        el('input', { name: 'period_days', type: 'number', min: '1', max: '3650', step: '1', required: true, value: String(bid.period_days) }))),
    el('label', null, 'Proposal ', el('textarea', { name: 'proposal', required: true, maxLength: 10000, rows: 4, value: bid.proposal })));
  form.elements.period_days.dataset.schema = 'UpdateBid.period_days';
  form.elements.proposal.dataset.schema = 'UpdateBid.proposal';
  const close = el('button', { type: 'button', textContent: 'Stop editing' });
  close.addEventListener('click', () => { editingBid = null; renderJob(); });
  form.append(el('div', { className: 'actions' }, el('button', { type: 'submit', textContent: 'Save bid' }), close));
  onSubmit(form, async (fields) => {
    await api('PATCH', `/bids/${enc(bid.id)}`, {
      amount: toMinor(fields.amount, bid.currency), period_days: Number(fields.period_days),
      proposal: fields.proposal.trim() });
    editingBid = null;
    await refresh();
  });
  return form;
}

// An amount input in a currency's units; limits.js sets min/max/step from the schema.
export function moneyInput(name, schema, currency, value) {
  const input = el('input', { name, type: 'number', min: '0.01', step: '0.01', required: true, inputMode: 'decimal' });
  if (value != null) input.value = value;
  Object.assign(input.dataset, { schema, money: '', currency });
  return input;
}

// Editing and cancelling a job

function openEdit() {
  const { job } = state.job;
  const form = $('#job-edit-form');
  clearFieldErrors(form);
  const f = form.elements;
  f.title.value = job.title;
  f.description.value = job.description;
  f.skills.value = job.skills.join(', ');
  f.currency.value = job.currency;
  f.currency.disabled = job.status !== 'draft';  // the currency of a published job cannot change
  f.budget_min.value = toUnits(job.budget_min, job.currency);
  f.budget_max.value = toUnits(job.budget_max, job.currency);
  f.type.value = job.type;
  form.hidden = false;
  $('#job-edit').setAttribute('aria-expanded', 'true');
  f.title.focus();
}

function closeEdit() {
  $('#job-edit-form').hidden = true;
  $('#job-edit').setAttribute('aria-expanded', 'false');
}

function showCancel(open) {
  $('#job-cancel-confirm').hidden = !open;
  $('#job-cancel').setAttribute('aria-expanded', String(open));
  if (open) $('#job-cancel-no').focus();
}

const jobStep = (action) => act(async () => {
  const { job } = state.job;
  await post(`job:${action}:${job.id}`, `/jobs/${enc(job.id)}/${action}`);
  showCancel(false);
  await refresh();
});

$('#job-publish').addEventListener('click', jobStep('publish'));
$('#job-complete').addEventListener('click', jobStep('complete'));
$('#job-cancel-yes').addEventListener('click', jobStep('cancel'));
$('#job-cancel').addEventListener('click', () => showCancel($('#job-cancel-confirm').hidden));
$('#job-cancel-no').addEventListener('click', () => { showCancel(false); $('#job-cancel').focus(); });
$('#job-edit').addEventListener('click', () => { if ($('#job-edit-form').hidden) openEdit(); else closeEdit(); });
$('#job-edit-close').addEventListener('click', () => { closeEdit(); $('#job-edit').focus(); });

onSubmit($('#job-edit-form'), async (fields) => {
  const { job } = state.job;
  const currency = fields.currency || job.currency;  // a disabled select sends nothing
  const changes = { ...jobBody(fields, currency), ...(job.status === 'draft' ? { currency } : {}) };
  await api('PATCH', `/jobs/${enc(job.id)}`, changes);
  closeEdit();
  await refresh();
});

onProfile(renderJob);

// Posting a job: "Post job" publishes it, "Save as draft" keeps it a draft. The
// button pressed is known before the submit event (Enter in a field presses the first).
let publish = true;
for (const button of document.querySelectorAll('#job-form [data-publish]')) {
  button.addEventListener('click', () => { publish = button.dataset.publish === 'true'; });
}
onSubmit($('#job-form'), async (fields, form) => {
  const currency = fields.currency;
  const job = await post('job:create', '/jobs', { ...jobBody(fields, currency), currency, publish });
  form.reset();
  publish = true;
  goToJob(job.id);
});

onSubmit($('#bid-form'), async (fields, form) => {
  const { job } = state.job;
  await post(`bid:create:${job.id}`, `/jobs/${enc(job.id)}/bids`, {
    amount: toMinor(fields.amount, job.currency), currency: job.currency,
    period_days: Number(fields.period_days), proposal: fields.proposal.trim() });
  form.reset();
  await refresh();
});

onSubmit($('#job-search'), () => searchJobs(false));
$('#job-search-clear').addEventListener('click', act(async () => {
  const form = $('#job-search');
  form.reset();
  clearFieldErrors(form);
  await searchJobs(false);
}));
$('#jobs-more').addEventListener('click', act(() => searchJobs(true)));
