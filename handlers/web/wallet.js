// The wallet (#/wallet; REST /wallet): balances per currency, deposits with the
// sandbox provider's test cards, payouts to its test bank account, and the
// ledger, newest first. Amounts are minor units on the wire; the forms take the
// currency's decimals. Every money POST carries an Idempotency-Key.
import { $, el, act, money, minorDigits, onSubmit } from './ui.js';
import { api, newKey, HubError } from './api.js';
import { statusLabel, ledgerLabel, ACCOUNT_LABELS } from './labels.js';

const POLL_MS = 400;
const POLL_FOR_MS = 60_000;
const MAX_AMOUNT = 10 ** 12;  // the API's largest amount, in minor units
const FAILURES = { card_declined: 'the card was declined', account_closed: 'the bank account is closed' };

let ledgerCursor = null;
const payoutStates = new Map();  // payout id -> its latest view, for the ledger lines

export const toMinor = (value, currency) => Math.round(Number(value) * 10 ** minorDigits(currency));

const onWallet = () => location.hash === '#/wallet';

export async function showWallet() {
  await Promise.all([loadBalances(), loadLedger(true)]);
}

async function loadBalances() {
  const wallet = await api('GET', '/wallet');
  $('#balances').replaceChildren(...wallet.balances.map((b) => {
    const row = el('tr', null,
      el('th', { scope: 'row', textContent: b.currency }),
      el('td', { className: 'available', textContent: money(b.available, b.currency) }),
      el('td', { className: 'held', textContent: money(b.held, b.currency) }));
    row.dataset.currency = b.currency;
    return row;
  }));
  for (const form of [$('#deposit-form'), $('#payout-form')]) fillCurrencies(form, wallet.balances.map((b) => b.currency));
}

// The configured currencies (GET /wallet lists every one), keeping the choice.
function fillCurrencies(form, currencies) {
  const select = form.elements.namedItem('currency');
  const chosen = select.value;
  if ([...select.options].map((o) => o.value).join() !== currencies.join()) {
    select.replaceChildren(...currencies.map((c) => el('option', { value: c, textContent: c })));
    if (currencies.includes(chosen)) select.value = chosen;
  }
  amountLimits(form);
}

// The amount input follows the currency's decimals: 0.01 USD, 1 JPY.
function amountLimits(form) {
  const digits = minorDigits(form.elements.namedItem('currency').value);
  const input = form.elements.namedItem('amount');
  const step = (1 / 10 ** digits).toFixed(digits);
  input.step = step; input.min = step;
  input.max = (MAX_AMOUNT / 10 ** digits).toFixed(digits);
}

async function loadLedger(first) {
  if (first) ledgerCursor = null;
  const query = '/wallet/ledger?limit=20' + (ledgerCursor ? '&cursor=' + encodeURIComponent(ledgerCursor) : '');
  const page = await api('GET', query);
  const items = page.items.map(ledgerItem);
  if (first) $('#ledger').replaceChildren(...items); else $('#ledger').append(...items);
  ledgerCursor = page.next_cursor;
  $('#ledger-more').hidden = !ledgerCursor;
  $('#no-ledger').hidden = $('#ledger').children.length > 0;
}

function ledgerItem(entry) {
  const sign = entry.amount > 0 ? '+' : entry.amount < 0 ? '−' : '';
  const amount = el('span', { className: 'amount ' + (entry.amount < 0 ? 'debit' : 'credit'),
    textContent: sign + money(Math.abs(entry.amount), entry.currency) });
  const state = el('span', { className: 'entry-state' });
  const li = el('li', { className: 'entry' },
    el('span', { className: 'kind', textContent: ledgerLabel(entry.kind) }), amount,
    el('span', { className: 'muted', textContent: `${ACCOUNT_LABELS[entry.account] || entry.account} · ${new Date(entry.created_at).toLocaleString()}` }),
    state);
  li.dataset.kind = entry.kind;
  if (entry.ref.type === 'payout') showPayoutState(state, entry.ref.id);
  return li;
}

// A payout's line says where it is: pending, paid, failed.
function showPayoutState(node, id) {
  const known = payoutStates.get(id);
  if (known) { node.textContent = statusLabel(known.status); return; }
  api('GET', '/wallet/payouts/' + encodeURIComponent(id)).then((p) => {
    if (p.status !== 'pending') payoutStates.set(id, p);
    node.textContent = statusLabel(p.status);
  }).catch(() => {});
}

// Polls a deposit or payout until the provider's webhook settled it.
async function settled(path, isDone) {
  const until = Date.now() + POLL_FOR_MS;
  for (;;) {
    const item = await api('GET', path);
    if (isDone(item) || Date.now() > until) return item;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// One Idempotency-Key per user action: a retry of the same request whose
// answer never came (network down, 409 while the first still runs, 5xx) sends
// the same key, so it cannot deposit or pay out twice; anything else starts over.
export function retryKeys() {
  let pending = null;
  return {
    key(body) {
      const json = JSON.stringify(body);
      if (!pending || pending.json !== json) pending = { json, key: newKey() };
      return pending.key;
    },
    settle(err) {
      const status = err instanceof HubError ? err.problem.status || 0 : 0;
      const unknown = err && (!(err instanceof HubError) || status === 409 || status >= 500);
      if (!unknown) pending = null;
    },
  };
}

// Runs one submit with its button disabled: a double click sends one request.
export async function once(form, fn) {
  const button = form.querySelector('button[type=submit]');
  if (button.disabled) return;
  button.disabled = true;
  try { await fn(); } finally { button.disabled = false; }
}

function result(sel, text, bad) {
  const node = $(sel);
  node.textContent = text;
  node.classList.toggle('bad', !!bad);
}

const depositKeys = retryKeys();
onSubmit($('#deposit-form'), (fields, form) => once(form, async () => {
  const body = { amount: toMinor(fields.amount, fields.currency), currency: fields.currency, payment_method: fields.payment_method };
  const shown = money(body.amount, body.currency);
  result('#deposit-result', `Depositing ${shown}…`);
  let deposit;
  try { deposit = await api('POST', '/wallet/deposits', body, depositKeys.key(body)); depositKeys.settle(null); }
  catch (err) { depositKeys.settle(err); result('#deposit-result', ''); throw err; }
  result('#deposit-result', `Deposit of ${shown}: waiting for the card…`);
  deposit = await settled('/wallet/deposits/' + encodeURIComponent(deposit.id), (d) => d.status !== 'pending');
  if (deposit.status === 'succeeded') {
    result('#deposit-result', `Deposit of ${shown} succeeded.`);
    form.elements.namedItem('amount').value = '';
  } else if (deposit.status === 'failed') {
    const why = FAILURES[deposit.failure_reason] || deposit.failure_reason || 'the payment failed';
    result('#deposit-result', `Deposit of ${shown} failed: ${why}. No money was taken.`, true);
  } else {
    result('#deposit-result', `Deposit of ${shown} is still processing: it shows here once the card is charged.`);
  }
  if (onWallet()) await showWallet();
}));

const payoutKeys = retryKeys();
onSubmit($('#payout-form'), (fields, form) => once(form, async () => {
  const body = { amount: toMinor(fields.amount, fields.currency), currency: fields.currency, destination: fields.destination };
  const shown = money(body.amount, body.currency);
  let payout;
  try { payout = await api('POST', '/wallet/payouts', body, payoutKeys.key(body)); payoutKeys.settle(null); }
  catch (err) {
    payoutKeys.settle(err);
    if (err.code !== 'insufficient_funds') throw err;
    result('#payout-result', `Not enough available for a payout of ${shown}.`, true);
    return;
  }
  form.elements.namedItem('amount').value = '';
  result('#payout-result', `Payout of ${shown}: ${statusLabel(payout.status).toLowerCase()}…`);
  if (onWallet()) await showWallet();  // the money left "available" already
  payout = await settled('/wallet/payouts/' + encodeURIComponent(payout.id), (p) => p.status !== 'pending');
  payoutStates.set(payout.id, payout);
  if (payout.status === 'failed') {
    const why = FAILURES[payout.failure_reason] || payout.failure_reason || 'the bank refused it';
    result('#payout-result', `Payout of ${shown} failed: ${why}. The money is back in your balance.`, true);
  } else {
    result('#payout-result', `Payout of ${shown}: ${statusLabel(payout.status).toLowerCase()}.`);
  }
  if (onWallet()) await showWallet();
}));

for (const form of [$('#deposit-form'), $('#payout-form')]) {
  form.elements.namedItem('currency').addEventListener('change', () => amountLimits(form));
}
$('#ledger-more').addEventListener('click', act(() => loadLedger(false)));

// Money moved by someone else (a milestone paid to us, a webhook): redraw.
export function bindWallet(s) {
  s.notif.on('notification', (n) => {
    if (!/^(deposit|payout|milestone)\./.test(n.type) || !onWallet()) return;
    act(showWallet)();
  });
}
