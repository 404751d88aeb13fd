// DOM helpers and the page chrome every view shares: the error banner, the
// notice line and the status badge.
export const $ = (sel) => document.querySelector(sel);

export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// Amounts are minor units on the wire (cents); forms and pages use the
// currency's own decimals (ISO 4217, from Intl).
export function minorDigits(currency) {
  try { return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits; }
  catch (err) { return 2; }
}

export function money(amount, currency) {
  const digits = minorDigits(currency);
  return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
}

// Shows the section #view-<name> and hides the others.
export function show(view) {
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== 'view-' + view;
}

// What the user can do about an error, beyond the hub's message.
const HINTS = { email_unverified: 'Verify your email from the Account page.' };

export function showError(err) {
  const code = err && err.code ? `[${err.code}] ` : '';
  const hint = err && HINTS[err.code] ? ' ' + HINTS[err.code] : '';
  $('#error-text').textContent = code + (err && err.message ? err.message : String(err)) + hint;
  $('#error').hidden = false;
  console.warn('hub error', err);
}

// A 422's details.fields shown next to the form's fields (aria-invalid, the
// message linked by aria-describedby); any other error, or a field the form does
// not have, goes to the banner.
export function showFieldErrors(form, err) {
  clearFieldErrors(form);
  const fields = (err && err.code === 'validation_failed' && err.details && err.details.fields) || [];
  const unplaced = fields.filter((f) => !placeFieldError(form, f));
  if (!fields.length || unplaced.length) showError(err);
}

function placeFieldError(form, { field, message }) {
  const input = form.elements.namedItem(String(field).split('.').pop());
  if (!input || !input.labels || !input.labels.length) return false;
  const note = el('span', { className: 'field-error', id: `${form.id}-${input.name}-error`, textContent: message });
  input.labels[0].append(note);
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', note.id);
  return true;
}

export function clearFieldErrors(form) {
  for (const note of form.querySelectorAll('.field-error')) note.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
}

export const formData = (form) => Object.fromEntries(new FormData(form).entries());

// Runs fn(fields, form) on submit; its validation errors show next to the fields.
export function onSubmit(form, fn) {
  form.addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    try { await fn(formData(form), form); } catch (err) { showFieldErrors(form, err); }
  }));
}

// A lasting notice (a missed call, say) that stays until dismissed.
export function showNotice(text) {
  $('#notice-text').textContent = text;
  $('#notice').hidden = false;
}

// Wraps an async action so that any failure is shown to the user, never swallowed.
export const act = (fn) => (...args) => Promise.resolve().then(() => fn(...args)).catch(showError);

export function setStatus(text, kind) {
  const badge = $('#status');
  badge.textContent = text;
  badge.className = 'status ' + (kind || '');
}

// Shows text in the status badge for 3 s, then puts back what was there
// (unless the connection state changed it meanwhile).
export function flashStatus(text) {
  const badge = $('#status');
  const before = [badge.textContent, badge.className];
  badge.textContent = text;
  setTimeout(() => {
    if (badge.textContent === text) [badge.textContent, badge.className] = before;
  }, 3000);
}

$('#error-close').addEventListener('click', () => { $('#error').hidden = true; });
$('#notice-close').addEventListener('click', () => { $('#notice').hidden = true; });
