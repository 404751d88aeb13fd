// Attachments (docs/attachments.md): upload a file into a conversation, and show
// the files of a message. Downloads go through GET /attachments/{id}, which
// needs the bearer token and redirects to a short-lived signed URL.
import { state } from './state.js';
import { el, act } from './ui.js';
import { api, HubError } from './api.js';

// POST /uploads, PUT the bytes where the ticket says, complete: {done, abort}.
// `done` resolves with the Attachment. The PUT goes through XMLHttpRequest, the
// one browser API that reports upload progress: onProgress(fraction 0..1).
export function uploadFile(conversationId, file, onProgress = () => {}) {
  let xhr = null;
  let aborted = false;
  const cancelled = () => new HubError('aborted', 'Upload cancelled');
  const done = (async () => {
    const ticket = await api('POST', '/uploads', {
      conversation_id: conversationId, name: file.name, size: file.size,
      mime: file.type || 'application/octet-stream',
    });
    if (aborted) throw cancelled();
    await new Promise((resolve, reject) => {
      xhr = new XMLHttpRequest();
      xhr.open(ticket.method || 'PUT', ticket.upload_url);
      for (const [name, value] of Object.entries(ticket.headers || {})) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener('progress', (ev) => { if (ev.lengthComputable) onProgress(ev.loaded / ev.total); });
      xhr.addEventListener('load', () => (xhr.status < 300 ? resolve() : reject(problemOf(xhr))));
      xhr.addEventListener('error', () => reject(new HubError('upload_failed', 'Upload failed: the connection broke')));
      xhr.addEventListener('abort', () => reject(cancelled()));
      xhr.send(file);
    });
    onProgress(1);
    return api('POST', `/uploads/${encodeURIComponent(ticket.id)}/complete`);
  })();
  return { done, abort: () => { aborted = true; if (xhr) xhr.abort(); } };
}

// A failed PUT: the hub's problem document when it answered one (413 over the size limit).
function problemOf(xhr) {
  let problem = {};
  try { problem = JSON.parse(xhr.responseText || '{}'); } catch (err) { problem = {}; }
  return new HubError(problem.code || 'http_' + xhr.status, problem.detail || `Upload failed (${xhr.status})`, problem.details, problem);
}

// The files of a message: thumbnails for images, a button per file.
export function attachmentList(attachments) {
  if (!attachments || !attachments.length) return null;
  return el('ul', { className: 'files' }, ...attachments.map(attachmentItem));
}

const isImage = (a) => String(a.mime || '').startsWith('image/');

// An image opens in a new tab; any other file downloads under its name.
function attachmentItem(a) {
  if (!a.id) {  // sent before uploads existed: a link the sender gave
    return el('li', {}, el('a', { href: a.url, textContent: a.name, target: '_blank', rel: 'noopener noreferrer' }));
  }
  const open = el('button', { type: 'button', className: 'file', textContent: `📎 ${a.name} (${size(a.size)})`,
    title: isImage(a) ? `Open ${a.name}` : `Download ${a.name}` });
  open.addEventListener('click', act(async () => {
    const url = await objectUrl(a.url);
    if (isImage(a)) { window.open(url, '_blank', 'noopener'); return; }
    const link = el('a', { href: url, download: a.name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
  }));
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

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
