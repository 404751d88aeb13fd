// The composer's helpers: files to send (dropped on the conversation or
// picked), each uploaded at once with a progress bar, an image preview and a
// remove button; @-mention autocomplete (a listbox under the input); and the
// notes next to the composer (an upload or policy error, the masked-contact
// notice). chat.js sends. Protocol: docs/attachments.md, docs/protocol.md
// "message:send" (mentions, contact masking).
import { state } from './state.js';
import { $, el } from './ui.js';
import { userName } from './users.js';
import { uploadFile, size } from './files.js';

const MAX_FILES = 10;  // attachments per message (docs/protocol.md "message:send")

// ---------- files to send ----------
// conversation id -> [{file, preview, status: 'uploading'|'ready'|'failed', attachment, error, upload, node}]
const pending = new Map();
const itemsOf = (convId) => pending.get(convId) || [];

export function addFiles(files) {
  const convId = state.current;
  if (!convId || !files.length) return;
  const items = itemsOf(convId);
  const room = MAX_FILES - items.length;
  if (files.length > room) showComposerError(`At most ${MAX_FILES} files go with one message: ${room > 0 ? `add ${room} more at most` : 'send these first'}.`);
  else clearComposerError();
  for (const file of [...files].slice(0, Math.max(0, room))) items.push(startUpload(convId, file));
  pending.set(convId, items);
  renderFiles();
}

function startUpload(convId, file) {
  const item = { file, status: 'uploading', attachment: null, error: null,
    preview: file.type.startsWith('image/') ? URL.createObjectURL(file) : null };
  item.upload = uploadFile(convId, file, (fraction) => progress(item, fraction));
  item.done = item.upload.done.then(
    (attachment) => { item.status = 'ready'; item.attachment = attachment; drawState(item); },
    (err) => {
      if (err.code === 'aborted') return;
      item.status = 'failed';
      item.error = err.message;
      drawState(item);
      if (state.current === convId) showUploadErrors();
    });
  item.node = fileNode(convId, item);
  return item;
}

function fileNode(convId, item) {
  const { file } = item;
  const bar = el('progress', { max: 100, value: 0 });
  bar.setAttribute('aria-label', 'Upload of ' + file.name);
  const remove = el('button', { type: 'button', className: 'remove-file', textContent: '×' });
  remove.setAttribute('aria-label', 'Remove ' + file.name);
  remove.addEventListener('click', () => removeFile(convId, item));
  item.bar = bar;
  item.stateText = el('span', { className: 'file-state', textContent: 'Uploading…' });
  return el('li', { className: 'pending-file' },
    item.preview ? el('img', { className: 'preview', src: item.preview, alt: 'Preview of ' + file.name }) : el('span', { className: 'file-icon', textContent: '📄' }),
    el('span', { className: 'file-name', textContent: `${file.name} (${size(file.size)})` }),
    bar, item.stateText, remove);
}

function progress(item, fraction) {
  item.bar.value = Math.round(fraction * 100);
  if (item.status === 'uploading') item.stateText.textContent = `Uploading ${item.bar.value}%`;
}

function drawState(item) {
  item.node.classList.toggle('failed', item.status === 'failed');
  if (item.status === 'ready') { item.bar.value = 100; item.stateText.textContent = 'Uploaded'; }
  if (item.status === 'failed') item.stateText.textContent = 'Not uploaded: ' + item.error;
}

// Every refused file of the open conversation, with the hub's reason (413, 422...).
function showUploadErrors() {
  const failed = itemsOf(state.current).filter((x) => x.status === 'failed');
  if (failed.length) showComposerError(failed.map((x) => `${x.file.name}: ${x.error}`).join(' · '));
  else clearComposerError();
}

function removeFile(convId, item) {
  item.upload.abort();
  if (item.preview) URL.revokeObjectURL(item.preview);
  const hadFailed = item.status === 'failed';
  pending.set(convId, itemsOf(convId).filter((x) => x !== item));
  if (hadFailed) showUploadErrors();
  renderFiles();
  $('#composer-input').focus();
}

// The open conversation's files (called when a conversation opens, too).
export function renderFiles() {
  const items = itemsOf(state.current);
  const list = $('#composer-files');
  list.replaceChildren(...items.map((item) => item.node));
  list.hidden = !items.length;
}

// The attachments to send with the next message, once every upload finished:
// [Attachment]; null (with the reason next to the composer) while one failed.
export async function readyAttachments() {
  const items = itemsOf(state.current);
  await Promise.all(items.map((item) => item.done));
  const failed = items.filter((item) => item.status === 'failed');
  if (failed.length) {
    showComposerError(`${failed.map((item) => item.file.name).join(', ')} could not be uploaded: remove ${failed.length > 1 ? 'them' : 'it'} to send.`);
    return null;
  }
  return items.filter((item) => item.status === 'ready').map((item) => item.attachment);
}

// After the send: these files went with the message.
export function filesSent(convId, attachments) {
  const sent = new Set(attachments.map((a) => a.id));
  for (const item of itemsOf(convId)) if (item.attachment && sent.has(item.attachment.id) && item.preview) URL.revokeObjectURL(item.preview);
  pending.set(convId, itemsOf(convId).filter((item) => !(item.attachment && sent.has(item.attachment.id))));
  renderFiles();
}

// Drag and drop onto the open conversation.
function bindDrop(zone) {
  const hasFiles = (ev) => ev.dataTransfer && [...(ev.dataTransfer.types || [])].includes('Files');
  zone.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
    zone.classList.add('drop-active');
  });
  zone.addEventListener('dragleave', (ev) => {
    if (!zone.contains(ev.relatedTarget)) zone.classList.remove('drop-active');
  });
  zone.addEventListener('drop', (ev) => {
    zone.classList.remove('drop-active');
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    addFiles(ev.dataTransfer.files);
  });
}

// ---------- notes next to the composer ----------
export function showComposerError(text) {
  $('#composer-error-text').textContent = text;
  $('#composer-error').hidden = false;
}

export function clearComposerError() {
  $('#composer-error').hidden = true;
  $('#composer-error-text').textContent = '';
}

// The hub hid contact details in what was just sent (the ack's masked: true).
export const MASKED_TEXT = 'Contact details in your message were hidden: emails, phone numbers and links'
  + ' show as “[contact hidden]” until a bid between you is accepted.';

export function showMaskedNotice() {
  $('#composer-notice-text').textContent = MASKED_TEXT;
  $('#composer-notice').hidden = false;
}

// A conversation opens: its own files (and why any was refused), no notes of
// the one before.
export function resetComposer() {
  showUploadErrors();
  $('#composer-notice').hidden = true;
  renderFiles();
}

// The error text of a failed send without the event name socket.js puts first.
export const sendErrorText = (err) => String(err.message || err).replace(/^message:send: /, '');

// ---------- @-mention autocomplete ----------
// A combobox input with a listbox of the conversation's other participants
// whose name matches what follows the "@" before the caret.
function bindMentions(input, list) {
  let matches = [];
  let active = 0;
  let start = -1;

  const close = () => {
    matches = [];
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };

  const draw = () => {
    list.replaceChildren(...matches.map((m, i) => {
      const option = el('li', { id: `${list.id}-${i}`, className: 'mention-option' + (i === active ? ' active' : ''), textContent: m.name });
      option.setAttribute('role', 'option');
      option.setAttribute('aria-selected', String(i === active));
      option.addEventListener('mousedown', (ev) => ev.preventDefault());  // keep the focus in the input
      option.addEventListener('click', () => pick(i));
      return option;
    }));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-activedescendant', `${list.id}-${active}`);
  };

  const update = () => {
    const caret = input.selectionStart ?? input.value.length;
    const found = /(^|\s)@([^\s@]{0,40})$/.exec(input.value.slice(0, caret));
    const c = state.current && state.convs.get(state.current);
    if (!found || !c) { close(); return; }
    const query = found[2].toLowerCase();
    start = caret - found[2].length - 1;
    matches = c.participant_ids.filter((id) => !state.me || id !== state.me.id)
      .map((id) => ({ id, name: userName(id) }))
      .filter((m) => m.name.toLowerCase().split(/\s+/).some((word) => word.startsWith(query)) || m.name.toLowerCase().startsWith(query))
      .slice(0, 8);
    active = 0;
    if (matches.length) draw(); else close();
  };

  // "@Bo" becomes "@Bob ": chat.js mentions every participant named after an @.
  const pick = (i) => {
    const m = matches[i];
    if (!m) return;
    const caret = input.selectionStart ?? input.value.length;
    const inserted = `@${m.name} `;
    input.value = input.value.slice(0, start) + inserted + input.value.slice(caret);
    const at = start + inserted.length;
    input.setSelectionRange(at, at);
    close();
    input.focus();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  };

  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-expanded', 'false');
  input.addEventListener('input', update);
  input.addEventListener('click', update);
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (ev) => {
    if (list.hidden || !matches.length) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      active = (active + (ev.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
      draw();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      ev.preventDefault();  // picks; no send
      ev.stopImmediatePropagation();
      pick(active);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopImmediatePropagation();  // closes the list only, not an edit
      close();
    }
  });
}

bindDrop($('#view-conv'));
bindMentions($('#composer-input'), $('#mention-list'));
bindMentions($('#thread-input'), $('#thread-mention-list'));
$('#composer-file').addEventListener('change', (ev) => {
  addFiles(ev.target.files);
  ev.target.value = '';
});
$('#composer-error-close').addEventListener('click', () => { clearComposerError(); $('#composer-input').focus(); });
$('#composer-notice-close').addEventListener('click', () => { $('#composer-notice').hidden = true; $('#composer-input').focus(); });
