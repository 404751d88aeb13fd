// A job's milestones (escrow), on the job page of its owner and its freelancer:
// the owner funds one from their wallet, the freelancer asks for its release, the
// owner releases all or part of what is held (or cancels one not asked for yet),
// either side disputes one. The states and who may take which step:
// hub/marketplace/states.py MILESTONE, docs/marketplace.md.
import { state } from './state.js';
import { $, el, act, money, onSubmit, clearFieldErrors } from './ui.js';
import { api } from './api.js';
import { userName } from './users.js';
import { statusLabel } from './labels.js';
import { toMinor, toUnits, post } from './market.js';

const enc = encodeURIComponent;
let disputing = null;  // id of the milestone whose dispute form is open
let reload = () => Promise.resolve();
let shown = null;  // the arguments of the last render, to redraw without asking the hub
const redraw = () => { if (shown) renderMilestones(...shown); };

export async function loadMilestones(job) {
  const page = await api('GET', `/jobs/${enc(job.id)}/milestones?limit=100`);
  return page.items;
}

// bids: the job page's bids (the hired one names the conversation a dispute's
// reason goes to); refresh: reloads the job page.
export function renderMilestones(job, milestones, bids, refresh) {
  reload = refresh;
  shown = [job, milestones, bids, refresh];
  const owner = job.owner_id === state.me.id;
  const freelancer = job.freelancer_id === state.me.id;
  const box = $('#milestones-box');
  box.hidden = !((owner || freelancer) && job.freelancer_id);
  if (box.hidden) return;
  const total = (field) => milestones.reduce((sum, m) => sum + m[field], 0);
  $('#milestones-summary').textContent = milestones.length
    ? `In escrow ${money(total('held'), job.currency)} · released ${money(total('released'), job.currency)}`
      + ` · returned ${money(total('refunded'), job.currency)}`
    : '';
  const hired = bids.find((b) => b.id === job.awarded_bid_id) || bids.find((b) => b.status === 'accepted');
  $('#milestones').replaceChildren(...milestones.map((m) => milestoneItem(job, m, owner, hired)));
  $('#no-milestones').textContent = owner && job.status === 'in_progress'
    ? 'No milestones yet: fund one below, and the freelancer is paid from it when you release it.'
    : 'No milestones yet.';
  $('#no-milestones').hidden = milestones.length > 0;
  const form = $('#milestone-form');
  form.hidden = !(owner && job.status === 'in_progress');
  $('#milestone-currency').textContent = job.currency;
  form.elements.amount.dataset.currency = job.currency;
}

function milestoneItem(job, m, owner, hired) {
  const freelancer = !owner;
  const buttons = [];
  const step = (label, action, className) => {
    const b = el('button', { type: 'button', className: className || '', textContent: label });
    b.addEventListener('click', act(async () => { await post(`milestone:${action}:${m.id}`, `/milestones/${enc(m.id)}/${action}`); await reload(); }));
    return b;
  };
  if (freelancer && m.status === 'funded') buttons.push(step('Request release', 'request-release', 'primary'));
  if (owner && m.status === 'funded') buttons.push(step('Cancel milestone', 'cancel'));
  if (['funded', 'release_requested'].includes(m.status) && disputing !== m.id) {
    const open = el('button', { type: 'button', textContent: 'Open a dispute' });
    open.id = `dispute-open-${m.id}`;
    open.addEventListener('click', () => {
      disputing = m.id;
      redraw();
      document.getElementById(`dispute-${m.id}`).elements.reason.focus();
    });
    buttons.push(open);
  }
  const parts = [`held ${money(m.held, m.currency)}`];
  if (m.released) parts.push(`released ${money(m.released, m.currency)}` + (m.fee ? ` (platform fee ${money(m.fee, m.currency)})` : ''));
  if (m.refunded) parts.push(`returned ${money(m.refunded, m.currency)}`);
  const li = el('li', { className: 'milestone card' },
    el('p', null, el('strong', { className: 'ms-title', textContent: m.description }),
      ` · ${money(m.amount, m.currency)} · `,
      el('span', { className: 'ms-status', textContent: statusLabel(m.status) })),
    el('p', { className: 'muted ms-money', textContent: parts.join(' · ') }),
    hint(m, owner),
    owner && m.status === 'release_requested' ? releaseForm(m) : null,
    disputing === m.id && ['funded', 'release_requested'].includes(m.status) ? disputeForm(job, m, hired) : null,
    buttons.length ? el('div', { className: 'actions' }, ...buttons) : null);
  li.dataset.id = m.id;
  li.dataset.status = m.status;
  return li;
}

// What happens next, in words.
function hint(m, owner) {
  const text = {
    funded: owner ? `Waiting for ${userName(m.freelancer_id)} to ask for the release.` : 'Funded: ask for the release when the work is done.',
    release_requested: owner ? 'The freelancer asks for the release: release all or part of it.' : `Waiting for ${userName(m.owner_id)} to release it.`,
    disputed: 'Disputed: a moderator reads the job’s conversation and splits what is held.',
  }[m.status];
  return text ? el('p', { className: 'ms-hint', textContent: text }) : null;
}

// The owner releases an amount (all that is held to start with; less is a partial release).
function releaseForm(m) {
  const form = el('form', { id: `release-${m.id}`, className: 'ms-release row' });
  const amount = el('input', { name: 'amount', type: 'number', min: '0.01', step: '0.01', required: true, inputMode: 'decimal', value: toUnits(m.held, m.currency) });
  Object.assign(amount.dataset, { schema: 'ReleaseMilestone.amount', money: '', currency: m.currency });
  amount.max = toUnits(m.held, m.currency);
  form.append(
    el('label', { className: 'grow' }, `Amount to release (${m.currency}, at most ${money(m.held, m.currency)}) `, amount),
    el('button', { type: 'submit', className: 'primary', textContent: 'Release' }));
  onSubmit(form, async (fields) => {
    const minor = toMinor(fields.amount, m.currency);
    // All that is held is sent as no amount: "release everything still held".
    await post(`milestone:release:${m.id}`, `/milestones/${enc(m.id)}/release`, minor === m.held ? {} : { amount: minor });
    await reload();
  });
  return form;
}

// Either side disputes (POST /milestones/{id}/dispute takes no body); the reason
// goes to the job's conversation, where the moderator resolving it reads both
// sides (GET /admin/disputes shows their latest messages there).
function disputeForm(job, m, hired) {
  const form = el('form', { id: `dispute-${m.id}`, className: 'ms-dispute' });
  const reason = el('textarea', { name: 'reason', required: true, rows: 3, maxLength: 4000 });
  reason.dataset.schema = 'RestSendMessage.text';
  const keep = el('button', { type: 'button', textContent: 'Keep it as it is' });
  keep.addEventListener('click', () => {
    disputing = null;
    redraw();
    const open = document.getElementById(`dispute-open-${m.id}`);
    if (open) open.focus();
  });
  form.append(
    el('label', null, 'What went wrong? (sent to the job’s conversation, which the moderator reads) ', reason),
    el('div', { className: 'actions' }, el('button', { type: 'submit', className: 'danger', textContent: 'Open dispute' }), keep));
  onSubmit(form, async (fields) => {
    await post(`milestone:dispute:${m.id}`, `/milestones/${enc(m.id)}/dispute`);
    disputing = null;
    const conversation = hired && hired.conversation_id;
    if (conversation) {
      await post(`dispute-note:${m.id}`, `/conversations/${enc(conversation)}/messages`,
        { text: `Dispute on milestone “${m.description}”: ${fields.reason.trim()}` });
    }
    await reload();
  });
  return form;
}

// Funding: 402 insufficient_funds says so in the form, with the way to the wallet.
const fundForm = $('#milestone-form');
onSubmit(fundForm, async (fields, form) => {
  const { job } = state.job;
  $('#milestone-funds').hidden = true;
  try {
    await post(`milestone:fund:${job.id}`, `/jobs/${enc(job.id)}/milestones`,
      { amount: toMinor(fields.amount, job.currency), description: fields.description.trim() });
  } catch (err) {
    if (err.code !== 'insufficient_funds') throw err;
    $('#milestone-funds-text').textContent = `Not enough money in your wallet to fund ${money(toMinor(fields.amount, job.currency), job.currency)}. `;
    $('#milestone-funds').hidden = false;
    return;
  }
  form.reset();
  clearFieldErrors(form);
  await reload();
});
