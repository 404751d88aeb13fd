// A job's milestones (escrow), on the job page of its owner and its freelancer:
// the owner funds one from their wallet, the freelancer asks for its release, the
// owner releases all or part of what is held (or cancels one not asked for yet),
// either side disputes one with a note, and while it is disputed each side
// writes or changes its own note (both shown to both). The states and who may
// take which step: hub/marketplace/states.py MILESTONE, docs/marketplace.md.
import { state } from './state.js';
import { $, el, act, money, onSubmit, clearFieldErrors } from './ui.js';
import { api } from './api.js';
import { userName } from './users.js';
import { statusLabel } from './labels.js';
import { toMinor, toUnits, post } from './market.js';

const enc = encodeURIComponent;
let disputing = null;  // id of the milestone whose dispute form is open
let noting = null;     // id of the disputed milestone whose note form is open
// What is typed in a form (by the form's id), kept while it is open: a live
// event about the job redraws the milestones, and must not wipe a note being written.
const drafts = new Map();
let reload = () => Promise.resolve();
let shown = null;  // the arguments of the last render, to redraw without asking the hub
const redraw = () => { if (shown) renderMilestones(...shown); };

export async function loadMilestones(job) {
  const page = await api('GET', `/jobs/${enc(job.id)}/milestones?limit=100`);
  return page.items;
}

// bids: the job page's bids (kept for the redraw); refresh: reloads the job page.
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
  // The control being typed in keeps the focus across the redraw (its text is in drafts).
  const focused = document.activeElement;
  const typing = focused && focused.form && $('#milestones').contains(focused) ? [focused.form.id, focused.name] : null;
  $('#milestones').replaceChildren(...milestones.map((m) => milestoneItem(m, owner)));
  if (typing) {
    const again = document.getElementById(typing[0]);
    const control = again && again.elements.namedItem(typing[1]);
    if (control) control.focus({ preventScroll: true });
  }
  $('#no-milestones').textContent = owner && job.status === 'in_progress'
    ? 'No milestones yet: fund one below, and the freelancer is paid from it when you release it.'
    : 'No milestones yet.';
  $('#no-milestones').hidden = milestones.length > 0;
  const form = $('#milestone-form');
  form.hidden = !(owner && job.status === 'in_progress');
  $('#milestone-currency').textContent = job.currency;
  form.elements.amount.dataset.currency = job.currency;
}

function milestoneItem(m, owner) {
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
      document.getElementById(`dispute-${m.id}`).elements.note.focus();
    });
    buttons.push(open);
  }
  const mine = owner ? m.owner_note : m.freelancer_note;
  if (m.status === 'disputed' && noting !== m.id) {
    const write = el('button', { type: 'button', textContent: mine ? 'Change your note' : 'Add your side' });
    write.id = `note-open-${m.id}`;
    write.addEventListener('click', () => {
      noting = m.id;
      redraw();
      document.getElementById(`note-${m.id}`).elements.note.focus();
    });
    buttons.push(write);
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
    disputing === m.id && ['funded', 'release_requested'].includes(m.status) ? disputeForm(m, owner) : null,
    m.status === 'disputed' || m.owner_note || m.freelancer_note ? disputeNotes(m, owner) : null,
    noting === m.id && m.status === 'disputed' ? noteForm(m, owner, mine) : null,
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
    disputed: 'Disputed: a moderator reads both sides’ notes and the job’s conversation, then splits what is held.',
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

// A text box whose text survives redraws while its form is open (drafts).
function draftArea(formId, attrs) {
  const area = el('textarea', { name: 'note', required: true, rows: 3, maxLength: 2000, ...attrs });
  if (drafts.has(formId)) area.value = drafts.get(formId);
  area.addEventListener('input', () => drafts.set(formId, area.value));
  return area;
}

// A form that closes with "Keep it as it is", the focus back on the button that opened it.
function closable(formId, close, openerId) {
  const keep = el('button', { type: 'button', textContent: 'Keep it as it is' });
  keep.addEventListener('click', () => {
    drafts.delete(formId);
    close();
    redraw();
    const opener = document.getElementById(openerId);
    if (opener) opener.focus();
  });
  return keep;
}

const otherSide = (m, owner) => (owner ? userName(m.freelancer_id) : userName(m.owner_id));

// Either side disputes; what went wrong is its dispute note (POST
// /milestones/{id}/dispute {note}), which the other side and the moderator read.
function disputeForm(m, owner) {
  const id = `dispute-${m.id}`;
  const form = el('form', { id, className: 'ms-dispute' });
  const note = draftArea(id);
  note.dataset.schema = 'DisputeMilestone.note';
  form.append(
    el('label', null, `What went wrong? (your note for the moderator; ${otherSide(m, owner)} reads it too) `, note),
    el('div', { className: 'actions' }, el('button', { type: 'submit', className: 'danger', textContent: 'Open dispute' }),
      closable(id, () => { disputing = null; }, `dispute-open-${m.id}`)));
  onSubmit(form, async (fields) => {
    await post(`milestone:dispute:${m.id}`, `/milestones/${enc(m.id)}/dispute`, { note: fields.note.trim() });
    disputing = null;
    drafts.delete(id);
    await reload();
    const next = document.getElementById(`note-open-${m.id}`);  // "Change your note"
    if (next) next.focus();
  });
  return form;
}

// Both sides' dispute notes (each side's latest): on a disputed milestone, and
// after the resolution when either side wrote one.
function disputeNotes(m, owner) {
  const side = (userId, note, role) => {
    const who = userId === state.me.id ? `You (${role})` : `${userName(userId)} (${role})`;
    const li = el('li', { className: 'ms-note' },
      el('p', { className: 'ms-note-who' }, el('strong', { textContent: who }),
        note ? ' · ' : '',
        note ? el('time', { dateTime: note.updated_at, textContent: new Date(note.updated_at).toLocaleString() }) : null),
      note ? el('p', { className: 'pre ms-note-text', textContent: note.text })
        : el('p', { className: 'muted ms-note-text', textContent: m.status !== 'disputed' ? 'No note.' : userId === state.me.id ? 'You have not written your side yet.' : 'No note yet.' }));
    li.dataset.side = role;
    return li;
  };
  const heading = el('h5', { textContent: 'Dispute notes' });
  heading.id = `notes-heading-${m.id}`;
  const list = el('ul', { className: 'ms-notes-list' },
    side(m.owner_id, m.owner_note, 'client'), side(m.freelancer_id, m.freelancer_note, 'freelancer'));
  list.setAttribute('aria-labelledby', heading.id);
  // Your own side first.
  if (!owner) list.prepend(list.lastChild);
  return el('div', { className: 'ms-notes' }, heading, list);
}

// The caller's side's note on a disputed milestone: written, or changed (PUT
// /milestones/{id}/dispute/note; one per side, the latest wins).
function noteForm(m, owner, mine) {
  const id = `note-${m.id}`;
  const form = el('form', { id, className: 'ms-dispute ms-note-form' });
  const note = draftArea(id);
  note.dataset.schema = 'WriteDisputeNote.note';
  if (!drafts.has(id) && mine) note.value = mine.text;
  form.append(
    el('label', null, `Your side of the dispute (the moderator and ${otherSide(m, owner)} read it) `, note),
    el('div', { className: 'actions' }, el('button', { type: 'submit', className: 'primary', textContent: 'Save note' }),
      closable(id, () => { noting = null; }, `note-open-${m.id}`)));
  onSubmit(form, async (fields) => {
    await api('PUT', `/milestones/${enc(m.id)}/dispute/note`, { note: fields.note.trim() });
    noting = null;
    drafts.delete(id);
    await reload();
    const opener = document.getElementById(`note-open-${m.id}`);
    if (opener) opener.focus();
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
