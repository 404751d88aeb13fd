// Words for the hub's enum values: statuses and notification types are shown
// with these, never as raw names ("in_progress" -> "In progress"). Shared by
// every view: add to the maps with small edits.

export const STATUS_LABELS = {
  // jobs
  draft: 'Draft', open: 'Open', awarded: 'Awarded', in_progress: 'In progress',
  completed: 'Completed', cancelled: 'Cancelled',
  // bids
  pending: 'Pending', shortlisted: 'Shortlisted', accepted: 'Accepted',
  rejected: 'Not chosen', withdrawn: 'Withdrawn', declined: 'Declined',
  // milestones
  funded: 'Funded', release_requested: 'Release requested', released: 'Released',
  disputed: 'Disputed', resolved: 'Resolved',
  // deposits and payouts
  succeeded: 'Succeeded', paid: 'Paid', failed: 'Failed',
  // lobbies
  scheduled: 'Scheduled', closed: 'Closed',
};

// A short title per notification type (notifications.js writes the full
// sentence from the notification's data; these are its fallback and headings).
export const NOTIFICATION_LABELS = {
  'bid.created': 'New bid',
  'bid.updated': 'Bid changed',
  'bid.withdrawn': 'Bid withdrawn',
  'bid.accepted': 'Job accepted',
  'bid.declined': 'Job declined',
  'bid.shortlisted': 'Bid shortlisted',
  'bid.rejected': 'Bid not chosen',
  'bid.awarded': 'Job awarded to you',
  'job.cancelled': 'Job cancelled',
  'job.completed': 'Job completed',
  'milestone.created': 'Milestone funded',
  'milestone.release_requested': 'Release requested',
  'milestone.released': 'Payment released',
  'milestone.cancelled': 'Milestone cancelled',
  'milestone.disputed': 'Milestone disputed',
  'milestone.resolved': 'Dispute resolved',
  'review.created': 'New review',
  'deposit.succeeded': 'Deposit received',
  'deposit.failed': 'Deposit failed',
  'payout.paid': 'Payout sent',
  'payout.failed': 'Payout failed',
  mention: 'You were mentioned',
  'networking.connection': 'New connection',
  'moderation.warning': 'Warning from a moderator',
};

// "in_progress" -> "In progress" for a value the map does not know yet.
const words = (value) => {
  const text = String(value || '').replace(/[._]/g, ' ').trim();
  return text ? text[0].toUpperCase() + text.slice(1) : '';
};

export const statusLabel = (status) => STATUS_LABELS[status] || words(status);
export const notificationLabel = (type) => NOTIFICATION_LABELS[type] || 'Notification';
