// The client's one state object, shared by every module. Exposed as
// window.hubState because the browser tests read it (and it helps debugging).
export const state = {
  auth: null,            // {access_token, refresh_token}
  me: null,              // PrivateUser
  signingOut: false,     // this page asked for logout-all: its own auth:revoked is expected
  sockets: null,         // {manager, conv, presence, notif, signaling, net}
  everConnected: false,
  convs: new Map(),      // id -> Conversation (viewer's view)
  order: [],             // conversation ids, latest activity first
  messages: new Map(),   // conversation id -> Map(seq -> Message)
  hasMore: new Map(),    // conversation id -> older messages exist
  revs: new Map(),       // conversation id -> rev of the last sync (its change feed)
  threads: new Map(),    // thread root id -> Map(seq -> reply), for threads opened
  thread: null,          // open thread: {convId, root}
  picker: null,          // id of the message whose emoji picker is open
  pins: new Map(),       // conversation id -> its pinned messages, most recent first
  pinsOpen: false,       // the open conversation's pins list is shown
  peerRead: new Map(),   // conversation id -> highest read seq of the others
  peerDelivered: new Map(), // conversation id -> highest delivered seq of the others
  typing: new Map(),     // conversation id -> Map(user id -> timer)
  users: new Map(),      // user id -> public profile ({} while loading)
  presence: new Map(),   // user id -> status
  current: null,         // open conversation id
  editing: null,         // message being edited
  loadingOlder: false,
  typingSentAt: 0, typingTimer: null,
  notifications: [],
  call: null,            // {id, pc, stream, role, peerId, ice, pendingIce}
  echo: null,            // {pc, stream}
  lobby: null,           // {id, title}
  session: null,         // networking session: {id, role, pc, stream, ice, pendingIce, endsAt, timer, ready}
  rating: null,          // session id waiting for our rating
  job: null,             // open job page: {job, bids, milestones, reviews}
  bidJobs: new Map(),    // bid id -> job id (or null while looking it up)
};
window.hubState = state;
