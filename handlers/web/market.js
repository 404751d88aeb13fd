// What the marketplace pages (jobs.js, milestones.js, reviews.js) share: amounts
// typed in a currency's units <-> the wire's integer minor units, and one
// Idempotency-Key per user action.
import { minorDigits } from './ui.js';
import { api, newKey, HubError } from './api.js';

// "12.5" USD -> 1250. Rounded: the inputs' step already limits the decimals.
export const toMinor = (value, currency) => Math.round(Number(value) * 10 ** minorDigits(currency));

// 1250 USD -> "12.50", the value an amount input starts with.
export const toUnits = (amount, currency) => (amount / 10 ** minorDigits(currency)).toFixed(minorDigits(currency));

// Runs send(key) with the Idempotency-Key of this action (a name such as
// "release:<milestone id>"): a fresh key the first time, the same one when the
// action is tried again after it got no answer (a network failure), so the hub
// carries it out once. Any answer from the hub ends the action: a failed request
// that committed nothing gives its key back anyway, so a corrected retry runs.
const pending = new Map();
export async function keyed(action, send) {
  if (!pending.has(action)) pending.set(action, newKey());
  try {
    const result = await send(pending.get(action));
    pending.delete(action);
    return result;
  } catch (err) {
    if (err instanceof HubError) pending.delete(action);
    throw err;
  }
}

// POST path (no body or body) as the user action `action`, with its key.
export const post = (action, path, body) => keyed(action, (key) => api('POST', path, body, key));
