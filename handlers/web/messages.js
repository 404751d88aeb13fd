// One message of the open conversation or of its thread: the text and files,
// the meta line (author, time, "edited", the pin marker, the receipt ticks on
// our own), the reactions row with its quick picker, and the buttons (edit,
// delete, report, reply in thread, pin, mark unread). System lines and cards
// are cards.js's. What the buttons do is registered by chat.js
// (onMessageAction), so this module imports nothing that imports it.
import { state } from './state.js';
import { el, act } from './ui.js';
import { userName } from './users.js';
import { attachmentList } from './files.js';
import { reportButton } from './report.js';
import { authorOf, systemItem, cardItem } from './cards.js';

const QUICK_EMOJI = ['👍', '❤️', '😂', '🎉', '👀', '🙏'];

// { toggleReaction, togglePicker, setPinned, openThread, markUnread,
// deleteMessage, startEdit }, each called with the message.
let actions = null;
export function onMessageAction(handlers) { actions = handlers; }

// Sent / delivered / read: the ticks are decoration, the word is what a
// screen reader says (the text stays "✓✓ Read" and the like).
function receipt(m) {
  const [ticks, word] = (state.peerRead.get(m.conversation_id) || 0) >= m.seq ? ['✓✓', 'Read']
    : (state.peerDelivered.get(m.conversation_id) || 0) >= m.seq ? ['✓✓', 'Delivered'] : ['✓', 'Sent'];
  const icon = el('span', { textContent: ticks });
  icon.setAttribute('aria-hidden', 'true');
  return el('span', { className: 'receipt ' + word.toLowerCase(), title: word }, icon, ' ' + word);
}

export const replyLabel = (n) => (n === 1 ? '1 reply' : `${n} replies`);

// compact: a few latest messages beside something else (the bid's conversation
// on the job page, bidchat.js): what was said, its files, the ticks and the
// reactions, without the buttons that act on the open conversation's composer
// and panes (edit, thread, pin, mark unread, delete, report).
export function messageItem(m, inThread, compact) {
  // A system line stays quiet: its reactions, and Unpin if someone pinned it.
  if (m.kind === 'system') {
    return systemItem(m, [pinMark(m), m.deleted ? null : reactionRow(m, false),
      m.pinned && !compact ? button('pin', 'Unpin', () => actions.setPinned(m, false)) : null]);
  }
  const extras = compact ? [m.deleted ? null : reactionRow(m, false)] : messageExtras(m, inThread);
  if (m.kind === 'card') return cardItem(m, [pinMark(m), ...extras]);
  const mine = state.me && m.sender_id === state.me.id;
  const meta = el('span', { className: 'meta' },
    el('span', { className: 'who', textContent: userName(authorOf(m)) }),
    el('time', { textContent: new Date(m.created_at).toLocaleTimeString() }),
    m.edited_at && !m.deleted ? el('span', { className: 'edited', textContent: 'edited' }) : null, pinMark(m));
  if (mine) {
    meta.append(receipt(m));
    if (!m.deleted && !compact) meta.append(...messageButtons(m, inThread));
  } else if (!m.deleted && m.sender_id && !compact) meta.append(reportButton(m));
  const toMe = state.me && (m.mentions || []).includes(state.me.id);
  const li = el('li', { className: 'msg' + (mine ? ' mine' : '') + (toMe ? ' mentions-me' : '') + (m.deleted ? ' deleted' : '') + (m.pinned ? ' pinned' : '') },
    el('div', { className: 'text', textContent: m.deleted ? 'message deleted' : m.text }),
    m.deleted ? null : attachmentList(m.attachments), meta, ...extras);
  li.dataset.seq = String(m.seq);
  return li;
}

// Reactions, the thread link and the reply / pin actions of a message.
function messageExtras(m, inThread) {
  if (m.deleted) return [];
  const canThread = !inThread && !m.thread_root_id;
  const row = reactionRow(m, true);
  if (canThread) row.append(button('reply', 'Reply in thread', () => actions.openThread(m)));
  row.append(button('pin', m.pinned ? 'Unpin' : 'Pin', () => actions.setPinned(m, !m.pinned)));
  if (!inThread && state.me && authorOf(m) !== state.me.id) row.append(button('mark-unread', 'Mark unread', () => actions.markUnread(m)));
  return [row, canThread && m.reply_count > 0 ? button('replies', replyLabel(m.reply_count), () => actions.openThread(m)) : null];
}

export const button = (className, text, onClick) => {
  const b = el('button', { type: 'button', className, textContent: text });
  b.addEventListener('click', act(onClick));
  return b;
};

const pinMark = (m) => (m.pinned && !m.deleted
  ? el('span', { className: 'pin-mark', textContent: '📌 Pinned', title: m.pinned_by ? 'Pinned by ' + userName(m.pinned_by) : 'Pinned' })
  : null);

// One chip per emoji (pressed when it is ours; a click toggles ours), then
// "+" and, while open, the quick picker.
function reactionRow(m, canAdd) {
  const reactions = m.reactions || [];
  if (!reactions.length && !canAdd) return null;
  const row = el('div', { className: 'reactions' }, ...reactions.map((r) => {
    const chip = button('reaction' + (r.me ? ' me' : ''), `${r.emoji} ${r.count}`, () => actions.toggleReaction(m, r.emoji));
    chip.dataset.emoji = r.emoji;
    chip.setAttribute('aria-pressed', String(!!r.me));
    chip.title = r.me ? `You reacted with ${r.emoji}: click to take it back` : `React with ${r.emoji}`;
    return chip;
  }));
  if (!canAdd) return row;
  const add = button('react-add', '+', () => actions.togglePicker(m));
  add.setAttribute('aria-label', 'Add a reaction');
  add.setAttribute('aria-expanded', String(state.picker === m.id));
  row.append(add);
  if (state.picker === m.id) {
    row.append(el('span', { className: 'emoji-picker' }, ...QUICK_EMOJI.map((emoji) => {
      const choice = button('emoji-choice', emoji, () => actions.toggleReaction(m, emoji));
      choice.setAttribute('aria-label', 'React with ' + emoji);
      return choice;
    })));
  }
  return row;
}

// Editing happens in the main composer, so a thread offers only Delete.
function messageButtons(m, inThread) {
  const del = el('button', { type: 'button', className: 'delete', textContent: 'Delete' });
  del.addEventListener('click', act(() => actions.deleteMessage(m)));
  if (inThread) return [del];
  const edit = el('button', { type: 'button', className: 'edit', textContent: 'Edit' });
  edit.addEventListener('click', () => actions.startEdit(m));
  return [edit, del];
}
