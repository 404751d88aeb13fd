// Attachments (docs/attachments.md): upload a file into a conversation, and show
// the files of a message. Downloads go through GET /attachments/{id}, which
// needs the bearer token and redirects to a short-lived signed URL.
import { state } from './state.js';
import { el, act } from './ui.js';
import { api, HubError } from './api.js';

// POST /uploads, PUT the bytes where the ticket says, complete: the Attachment.
export async function uploadFile(conversationId, file) {
  const ticket = await api('POST', '/uploads', {
    conversation_id: conversationId, name: file.name, size: file.size,
    mime: file.type || 'application/octet-stream',
  });
  const put = await fetch(ticket.upload_url, { method: 'PUT', headers: ticket.headers, body: file });
  if (!put.ok) throw new HubError('upload_failed', `Upload failed (${put.status})`);
  return api('POST', `/uploads/${ticket.id}/complete`);
}

// The files of a message: thumbnails for images, a button per file.
export function attachmentList(attachments) {
  if (!attachments || !attachments.length) return null;
  return el('ul', { className: 'files' }, ...attachments.map(attachmentItem));
}

function attachmentItem(a) {
  if (!a.id) {  // sent before uploads existed: a link the sender gave
    return el('li', {}, el('a', { href: a.url, textContent: a.name, target: '_blank', rel: 'noopener noreferrer' }));
  }
  const open = el('button', { type: 'button', className: 'file', textContent: `📎 ${a.name} (${size(a.size)})` });
  open.addEventListener('click', act(async () => window.open(await objectUrl(a.url), '_blank', 'noopener')));
  const item = el('li', {}, open);
  if (a.thumbnail_url) {
    const img = el('img', { className: 'thumb', alt: a.name, width: a.width, height: a.height });
    objectUrl(a.thumbnail_url).then((url) => { img.src = url; }, () => { img.alt = a.name + ' (unavailable)'; });
    item.prepend(img);
  }
  return item;
}

// Fetches with the token (fetch follows the redirect) and keeps the bytes as a blob URL.
const blobs = new Map();
async function objectUrl(path) {
  if (!blobs.has(path)) {
    const res = await fetch(path, { headers: { Authorization: 'Bearer ' + state.auth.access_token } });
    if (!res.ok) throw new HubError('http_' + res.status, 'This file is not available');
    blobs.set(path, URL.createObjectURL(await res.blob()));
  }
  return blobs.get(path);
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
