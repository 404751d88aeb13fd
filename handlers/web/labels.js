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
  // users' moderation state (GET /admin/users `status`)
  active: 'Active', suspended: 'Suspended', banned: 'Banned',
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
  'milestone.dispute_note': 'Dispute note',
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

// A job's type.
export const JOB_TYPE_LABELS = { fixed: 'Fixed price', hourly: 'Hourly' };
export const jobTypeLabel = (type) => JOB_TYPE_LABELS[type] || words(type);

// Wallet ledger entries (GET /wallet/ledger `kind`) and the account they move.
export const LEDGER_LABELS = {
  deposit: 'Deposit', payout: 'Payout', payout_refund: 'Payout returned',
  milestone_fund: 'Milestone funded', milestone_release: 'Milestone payment',
  milestone_cancel: 'Milestone cancelled', milestone_resolve: 'Dispute settled',
};
export const ACCOUNT_LABELS = { available: 'Available', held: 'Held in escrow' };

// Moderation: report reasons and targets, the actions on a report, the audit log.
export const REASON_LABELS = {
  spam: 'Spam', scam: 'Scam or fraud', harassment: 'Harassment',
  off_platform: 'Asks to pay or talk off the platform', other: 'Something else',
};
export const REPORT_ACTION_LABELS = {
  dismiss: 'Dismissed', warn: 'User warned', delete_message: 'Message deleted',
  suspend: 'User suspended', ban: 'User banned',
};
export const AUDIT_LABELS = {
  'report.dismiss': 'Dismissed a report', 'report.warn': 'Warned a user about a report',
  'report.delete_message': 'Deleted a reported message', 'report.suspend': 'Suspended a user over a report',
  'report.ban': 'Banned a user over a report', 'report.context_read': "Read a report's conversation",
  'user.ban': 'Banned a user', 'user.suspend': 'Suspended a user', 'user.unban': 'Lifted a ban or suspension',
  'user.role': "Changed a user's role", 'message.delete': 'Deleted a message',
  'bids.withdraw': "Withdrew the user's open bids", 'dispute.resolve': 'Resolved a dispute',
  'disputes.read': 'Read the dispute queue',
};
export const ROLE_LABELS = { client: 'Client', freelancer: 'Freelancer', admin: 'Admin' };

export const ledgerLabel = (kind) => LEDGER_LABELS[kind] || words(kind);
export const reasonLabel = (reason) => REASON_LABELS[reason] || words(reason);
export const auditLabel = (action) => AUDIT_LABELS[action] || words(action);
export const roleLabel = (role) => ROLE_LABELS[role] || words(role);
