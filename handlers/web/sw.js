// The service worker, served at /sw.js (scope: the whole page). It shows the
// hub's Web Push messages as notifications and, on a click, brings the page
// to what the push is about. Payloads (docs/push.md, docs/protocol.md "Web Push"):
//   {type: "message", conversation_id, seq, sender_name, preview, mention?}
//   {type: "notification", id, notification_type, created_at, conversation_id?}
// A classic script (not a module: every browser runs those as service workers),
// so the few words it needs are here, not imported from labels.js.

const TYPE_WORDS = {
  'bid.created': 'New bid on your job',
  'bid.updated': 'A bid on your job changed',
  'bid.withdrawn': 'A bid on your job was withdrawn',
  'bid.accepted': 'Your award was accepted',
  'bid.declined': 'Your award was declined',
  'bid.shortlisted': 'Your bid was shortlisted',
  'bid.rejected': 'Your bid was not chosen',
  'bid.awarded': 'You were awarded a job',
  'job.cancelled': 'A job you bid on was cancelled',
  'job.completed': 'A job was marked completed',
  'milestone.created': 'A milestone was funded',
  'milestone.release_requested': 'A release was requested',
  'milestone.released': 'A payment was released to you',
  'milestone.cancelled': 'A milestone was cancelled',
  'milestone.disputed': 'A milestone is disputed',
  'milestone.dispute_note': 'A dispute note was written',
  'milestone.resolved': 'A dispute was resolved',
  'review.created': 'You have a new review',
  'deposit.succeeded': 'Your deposit arrived',
  'deposit.failed': 'Your deposit failed',
  'payout.paid': 'Your payout was sent',
  'payout.failed': 'Your payout failed',
  'networking.connection': 'You have a new connection',
  'moderation.warning': 'A moderator wrote to you',
};

const conversationHash = (id) => '#/c/' + encodeURIComponent(id);

// The notification to show for a push: its title and options; data.hash is
// where a click leads, data.alerts opens the notifications drawer.
function describe(push) {
  if (push.type === 'message') {
    const name = push.sender_name || 'Someone';
    return {
      title: push.mention ? `${name} mentioned you` : name,
      options: {
        body: push.preview == null ? 'sent you a message' : push.preview,
        tag: 'conversation-' + push.conversation_id,  // one per conversation, the latest
        renotify: true,
        data: { hash: conversationHash(push.conversation_id), alerts: false },
      },
    };
  }
  if (push.type === 'notification') {
    return {
      title: 'Freelance Hub',
      options: {
        body: TYPE_WORDS[push.notification_type] || 'Something new happened',
        tag: 'notification-' + push.id,
        data: push.conversation_id
          ? { hash: conversationHash(push.conversation_id), alerts: false }
          : { hash: '', alerts: true },
      },
    };
  }
  return { title: 'Freelance Hub', options: { body: 'Something new happened', data: { hash: '', alerts: true } } };
}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let push = {};
  try { push = event.data ? event.data.json() : {}; } catch (err) { push = {}; }
  const { title, options } = describe(push);
  event.waitUntil(self.registration.showNotification(title, options));
});

// A click: the page's open window (focused, told where to go), else a new one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openPage(event.notification.data || {}));
});

async function openPage({ hash = '', alerts = false }) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (!open) return self.clients.openWindow('/' + (alerts ? '?alerts' : '') + hash);
  try { await open.focus(); } catch (err) { /* only a notification click may focus a window */ }
  open.postMessage({ type: 'hub:open', hash, alerts });
  return open;
}
