// "Report" on someone else's message (POST /reports): a small modal dialog
// asks for the reason and an optional note; moderators then see the message
// with the conversation around it (admin.js).
import { el, act, onSubmit, showNotice } from './ui.js';
import { api, newKey } from './api.js';
import { REASON_LABELS } from './labels.js';

let dialog = null;
let target = null;   // {message, opener}

function build() {
  const form = el('form', { id: 'report-form', method: 'dialog' },
    el('h2', { id: 'report-heading', textContent: 'Report this message' }),
    el('p', { id: 'report-quote', className: 'muted pre' }),
    el('label', null, 'Reason ', el('select', { name: 'reason', required: true },
      ...Object.entries(REASON_LABELS).map(([value, text]) => el('option', { value, textContent: text })))),
    el('label', null, 'Note for the moderators (optional) ', el('textarea', { name: 'note', rows: 3, maxLength: 2000 })),
    el('div', { className: 'row' },
      el('button', { type: 'submit', textContent: 'Send report' }),
      el('button', { type: 'button', className: 'cancel', textContent: 'Cancel' })));
  form.querySelector('textarea').dataset.schema = 'CreateReport.note';
  dialog = el('dialog', { id: 'report-dialog', className: 'dialog-modal' }, form);
  dialog.setAttribute('aria-labelledby', 'report-heading');
  document.body.append(dialog);
  form.querySelector('.cancel').addEventListener('click', () => dialog.close());
  // The close event comes after the dialog closed, as a task of its own: if the dialog
  // was opened again meanwhile (Escape, then Enter on the focused Report button), the
  // new target stays.
  dialog.addEventListener('close', () => {
    if (dialog.open) return;
    if (target && target.opener.isConnected) target.opener.focus();
    target = null;
  });
  onSubmit(form, async (fields) => {
    const button = form.querySelector('[type=submit]');
    if (button.disabled || !target) return;
    button.disabled = true;
    try {
      await api('POST', '/reports', {
        target: { type: 'message', id: target.message.id }, reason: fields.reason,
        ...(fields.note.trim() ? { note: fields.note.trim() } : {}) }, newKey());
      showNotice('Thanks: the moderators will look at this message.');
    } catch (err) {
      if (err.code !== 'conflict') throw err;
      showNotice('You reported this message already.');
    } finally { button.disabled = false; }
    dialog.close();
  });
}

function openReport(message, opener) {
  if (!dialog) build();
  const form = dialog.querySelector('form');
  form.reset();
  target = { message, opener };
  dialog.querySelector('#report-quote').textContent = message.text ? `“${message.text}”` : '';
  dialog.showModal();
  form.elements.namedItem('reason').focus();
}

// The button messages.js puts on each message of someone else.
export function reportButton(message) {
  const b = el('button', { type: 'button', className: 'report', textContent: 'Report' });
  b.setAttribute('aria-label', 'Report this message');
  b.setAttribute('aria-haspopup', 'dialog');
  b.addEventListener('click', act(() => openReport(message, b)));
  return b;
}
