'use strict';
// The hub's browser client: plain JS, one page, hash routes.
// Protocol: docs/protocol.md and docs/video.md. Every ack error is shown (#error).
(() => {
  const $ = (sel) => document.querySelector(sel);
  const API = '/api/v1';
  const AUTH_KEY = 'hub.auth';

  const state = {
    auth: null,            // {access_token, refresh_token, user}
    me: null,              // PrivateUser
    sockets: null,         // {manager, conv, presence, notif, signaling}
    everConnected: false,
    convs: new Map(),      // id -> Conversation (viewer's view)
    order: [],             // conversation ids, latest activity first
    messages: new Map(),   // conversation id -> Map(seq -> Message)
    hasMore: new Map(),    // conversation id -> older messages exist
    peerRead: new Map(),   // conversation id -> highest read seq of the others
    typing: new Map(),     // conversation id -> Map(user id -> timer)
    users: new Map(),      // user id -> public profile (or a pending promise)
    presence: new Map(),   // user id -> status
    current: null,         // open conversation id
    editing: null,         // message being edited
    typingSentAt: 0, typingTimer: null,
    notifications: [],
    call: null,            // {id, pc, stream, role, peerId, pendingIce}
    echo: null,            // {pc, stream}
    lobby: null,           // {id, title}
    session: null,         // networking session: {id, role, pc, stream, pendingIce, endsAt}
    rating: null,          // session id waiting for our rating
    job: null,             // open job page: {job, bids}
    bidJobs: new Map(),    // bid id -> job id (or null while looking it up)
  };
  window.hubState = state;  // for tests and debugging

  class HubError extends Error {
    constructor(code, message, details) { super(message); this.code = code; this.details = details; }
  }

  // ---------- errors and status ----------
  function showError(err) {
    const code = err && err.code ? `[${err.code}] ` : '';
    $('#error-text').textContent = code + (err && err.message ? err.message : String(err));
    $('#error').hidden = false;
    console.warn('hub error', err);
  }
  $('#error-close').addEventListener('click', () => { $('#error').hidden = true; });
  // A lasting notice (a missed call, say) that stays until dismissed.
  function showNotice(text) {
    $('#notice-text').textContent = text;
    $('#notice').hidden = false;
  }
  $('#notice-close').addEventListener('click', () => { $('#notice').hidden = true; });
  // Run an async action; any failure is shown to the user, never swallowed.
  const act = (fn) => (...args) => Promise.resolve().then(() => fn(...args)).catch(showError);

  function setStatus(text, kind) {
    const el = $('#status');
    el.textContent = text;
    el.className = 'status ' + (kind || '');
  }

  // ---------- REST ----------
  async function api(method, path, body, retried) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (state.auth) headers.Authorization = 'Bearer ' + state.auth.access_token;
    const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401 && state.auth && !retried && !path.startsWith('/auth/')) {
      if (await refreshTokens()) return api(method, path, body, true);
    }
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      throw new HubError(problem.code || 'http_' + res.status, problem.detail || res.statusText, problem.details);
    }
    return res.status === 204 ? null : res.json();
  }

  async function refreshTokens() {
    if (!state.auth) return false;
    try {
      const res = await fetch(API + '/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: state.auth.refresh_token }) });
      if (!res.ok) throw new HubError('unauthorized', 'Your session expired: log in again');
      saveAuth(await res.json());
      return true;
    } catch (err) {
      showError(err);
      logout(false);
      return false;
    }
  }

  function saveAuth(result) {
    state.auth = { access_token: result.access_token, refresh_token: result.refresh_token };
    if (result.user) state.me = result.user;
    localStorage.setItem(AUTH_KEY, JSON.stringify({ ...state.auth, user: state.me }));
  }

  // ---------- sockets ----------
  function emit(sock, event, payload) {
    return new Promise((resolve, reject) => {
      sock.timeout(10000).emit(event, payload, (err, res) => {
        if (err) return reject(new HubError('timeout', `${event}: the hub did not answer`));
        if (res && res.ok) return resolve(res.data);
        const e = (res && res.error) || {};
        reject(new HubError(e.code || 'internal', `${event}: ${e.message || 'failed'}`, e.details));
      });
    });
  }

  function connect() {
    const manager = new io.Manager(location.origin, { transports: ['websocket'], reconnectionDelayMax: 4000 });
    // auth as a function: every (re)connect sends the current token.
    const auth = (cb) => cb({ token: state.auth ? state.auth.access_token : '' });
    const open = (nsp) => manager.socket(nsp, { auth });
    const s = { manager, conv: open('/conversations'), presence: open('/presence'),
      notif: open('/notifications'), signaling: open('/signaling'), net: open('/networking') };
    state.sockets = s;
    manager.on('reconnect_attempt', (n) => setStatus(`reconnecting (attempt ${n})…`, 'reconnecting'));
    manager.on('reconnect_failed', () => setStatus('offline', 'offline'));
    for (const sock of [s.conv, s.presence, s.notif, s.signaling, s.net]) {
      sock.on('connect_error', act(async (err) => {
        if (err && err.data && err.data.code === 'unauthorized') {
          if (await refreshTokens()) sock.connect();
        } else {
          setStatus('cannot reach the hub, retrying…', 'offline');
        }
      }));
      sock.on('disconnect', (reason) => {
        if (!state.auth) return;
        setStatus('connection lost, reconnecting…', 'reconnecting');
        // The server closed this namespace (token expiry, shutdown): reconnect by hand.
        if (reason === 'io server disconnect') setTimeout(() => state.sockets === s && sock.connect(), 1000);
      });
    }
    s.conv.on('connect', act(onConversationsConnect));
    s.presence.on('connect', act(() => subscribePresence([...peerIds()])));
    s.notif.on('connect', act(loadNotifications));
    bindConversationEvents(s.conv);
    s.presence.on('presence', (p) => { state.presence.set(p.user_id, p.status); renderList(); renderConvHead(); });
    s.notif.on('notification', (n) => {
      state.notifications.unshift(n); renderNotifications();
      // A bid on (or a change to) the job on screen: show it.
      if (n.data && n.data.job_id && n.data.job_id === jobOnScreen()) act(openJob)(n.data.job_id);
    });
    bindSignaling(s.signaling);
    bindNetworking(s.net);
  }

  async function onConversationsConnect() {
    const reconnect = state.everConnected;
    state.everConnected = true;
    setStatus(reconnect ? 'syncing…' : 'loading…', 'reconnecting');
    await loadConversations();
    if (reconnect) await syncMessages();
    setStatus('online', 'online');
    if (state.current) markRead(state.current);
  }

  // Catch up on every conversation whose messages we hold (docs/protocol.md "sync").
  async function syncMessages() {
    let cursors = [...state.messages.keys()].filter((id) => state.convs.has(id))
      .map((id) => ({ conversation_id: id, after_seq: contiguousSeq(id) }));
    while (cursors.length) {
      const result = await emit(state.sockets.conv, 'sync', { cursors });
      const next = [];
      for (const item of result.items) {
        for (const m of item.messages) addMessage(m);
        if (item.has_more && item.messages.length) {
          next.push({ conversation_id: item.conversation_id, after_seq: item.messages[item.messages.length - 1].seq });
        }
      }
      cursors = next;
    }
    renderMessages();
  }

  function contiguousSeq(id) {
    const map = state.messages.get(id);
    if (!map || !map.size) return 0;
    const seqs = [...map.keys()].sort((a, b) => a - b);
    let seq = seqs[0];
    for (const s of seqs) { if (s > seq + 1) break; seq = s; }
    return seq;
  }

  // ---------- conversations ----------
  async function loadConversations() {
    const seen = [];
    let cursor = null;
    do {
      const page = await emit(state.sockets.conv, 'conversation:list', { limit: 100, cursor });
      for (const c of page.items) { state.convs.set(c.id, c); notePeerReads(c); seen.push(c.id); }
      cursor = page.next_cursor;
    } while (cursor);
    state.order = seen;
    renderList();
    await subscribePresence([...peerIds()]);
  }

  function upsertConversation(c, toTop) {
    const known = state.convs.has(c.id);
    state.convs.set(c.id, c);
    notePeerReads(c);
    if (!known || toTop) state.order = [c.id, ...state.order.filter((id) => id !== c.id)];
    if (!known) subscribePresence(others(c)).catch(showError);
    renderList();
    if (state.current === c.id) renderConvHead();
  }

  // Read receipts: the highest read marker of the others. The Conversation's
  // read_seqs gives it on load (and after a reconnect), message:read events live.
  function notePeerReads(c) {
    const seqs = c.read_seqs || {};
    const highest = Math.max(0, ...others(c).map((id) => seqs[id] || 0));
    state.peerRead.set(c.id, Math.max(state.peerRead.get(c.id) || 0, highest));
    if (state.current === c.id) renderMessages();
  }

  function others(c) { return c.participant_ids.filter((id) => !state.me || id !== state.me.id); }
  function peerIds() { const ids = new Set(); for (const c of state.convs.values()) others(c).forEach((id) => ids.add(id)); return ids; }

  async function subscribePresence(ids) {
    const s = state.sockets;
    if (!ids.length || !s || !s.presence.connected) return;
    const result = await emit(s.presence, 'presence:subscribe', { user_ids: ids.slice(0, 500) });
    for (const p of result.items) state.presence.set(p.user_id, p.status);
    renderList(); renderConvHead();
  }

  function userName(id) {
    if (state.me && id === state.me.id) return 'You';
    const u = state.users.get(id);
    if (u && u.display_name) return u.display_name;
    if (!u) {
      state.users.set(id, {});
      api('GET', '/users/' + encodeURIComponent(id))
        .then((profile) => { state.users.set(id, profile); renderList(); renderConvHead(); renderMessages(); renderJob(); })
        .catch(() => state.users.delete(id));
    }
    return 'user ' + id.slice(0, 8);
  }

  function convTitle(c) { return c.title || others(c).map(userName).join(', ') || 'Just you'; }
  function convStatus(c) {
    const peers = others(c);
    return peers.some((id) => state.presence.get(id) === 'online') ? 'online'
      : (peers.map((id) => state.presence.get(id)).find((s) => s && s !== 'offline') || 'offline');
  }

  function bindConversationEvents(sock) {
    sock.on('conversation:created', (c) => upsertConversation(c, true));
    sock.on('conversation:updated', (c) => upsertConversation(c, false));
    sock.on('conversation:removed', (e) => {
      state.convs.delete(e.conversation_id); state.order = state.order.filter((id) => id !== e.conversation_id);
      if (state.current === e.conversation_id) location.hash = '#/conversations';
      renderList();
    });
    sock.on('message:new', act(async (m) => {
      if (!state.convs.has(m.conversation_id)) {
        upsertConversation(await emit(sock, 'conversation:get', { conversation_id: m.conversation_id }), true);
      }
      const c = state.convs.get(m.conversation_id);
      const fresh = !(state.messages.get(m.conversation_id) || new Map()).has(m.seq);
      if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
      if (fresh && state.me && m.sender_id !== state.me.id && m.seq > c.read_seq) c.unread_count += 1;
      state.order = [c.id, ...state.order.filter((id) => id !== c.id)];
      clearTyping(m.conversation_id, m.sender_id);
      if (state.messages.has(m.conversation_id)) addMessage(m);
      renderList();
      if (state.current === m.conversation_id) { renderMessages(); markRead(m.conversation_id); }
    }));
    const replace = (m) => {
      const map = state.messages.get(m.conversation_id);
      if (map && map.has(m.seq)) map.set(m.seq, m);
      const c = state.convs.get(m.conversation_id);
      if (c && c.last_message && c.last_message.id === m.id) c.last_message = m;
      renderList(); if (state.current === m.conversation_id) renderMessages();
    };
    sock.on('message:edit', replace);
    sock.on('message:delete', (e) => {
      const map = state.messages.get(e.conversation_id);
      const old = map && map.get(e.seq);
      const c = state.convs.get(e.conversation_id);
      const last = c && c.last_message && c.last_message.id === e.message_id ? c.last_message : null;
      const base = old || last;
      if (base) replace({ ...base, text: '', attachments: [], deleted: true });
    });
    sock.on('message:read', (e) => {
      const c = state.convs.get(e.conversation_id);
      if (state.me && e.user_id === state.me.id) {
        if (c) { c.read_seq = Math.max(c.read_seq, e.seq); recountUnread(c); }
      } else {
        state.peerRead.set(e.conversation_id, Math.max(state.peerRead.get(e.conversation_id) || 0, e.seq));
      }
      renderList(); if (state.current === e.conversation_id) renderMessages();
    });
    sock.on('typing', (e) => {
      if (e.typing) {
        const users = state.typing.get(e.conversation_id) || new Map();
        clearTimeout(users.get(e.user_id));
        users.set(e.user_id, setTimeout(() => clearTyping(e.conversation_id, e.user_id), e.expires_in_ms || 6000));
        state.typing.set(e.conversation_id, users);
        renderTyping();
      } else {
        clearTyping(e.conversation_id, e.user_id);
      }
    });
  }

  function recountUnread(c) {
    const map = state.messages.get(c.id);
    if (!map) { if (c.read_seq >= c.last_seq) c.unread_count = 0; return; }
    c.unread_count = [...map.values()].filter((m) => m.seq > c.read_seq && !m.deleted && m.sender_id !== state.me.id).length;
  }

  function clearTyping(convId, userId) {
    const users = state.typing.get(convId);
    if (users && users.has(userId)) { clearTimeout(users.get(userId)); users.delete(userId); renderTyping(); }
  }

  function addMessage(m) {
    let map = state.messages.get(m.conversation_id);
    if (!map) { map = new Map(); state.messages.set(m.conversation_id, map); }
    map.set(m.seq, m);
  }

  async function openConversation(id) {
    state.current = id;
    state.editing = null;
    if (!state.convs.has(id)) upsertConversation(await emit(state.sockets.conv, 'conversation:get', { conversation_id: id }), false);
    if (!state.messages.has(id)) {
      const page = await emit(state.sockets.conv, 'message:history', { conversation_id: id, limit: 30 });
      state.messages.set(id, new Map());
      page.items.forEach(addMessage);
      state.hasMore.set(id, page.has_more);
    }
    renderConvHead(); renderMessages(); renderTyping(); renderComposer();
    await markRead(id);
    $('#composer-input').focus();
  }

  async function loadOlder() {
    const id = state.current;
    const map = state.messages.get(id);
    const before = Math.min(...map.keys());
    const page = await emit(state.sockets.conv, 'message:history', { conversation_id: id, before_seq: before, limit: 30 });
    page.items.forEach(addMessage);
    state.hasMore.set(id, page.has_more);
    renderMessages();
  }

  async function markRead(id) {
    const c = state.convs.get(id);
    if (!c || !c.last_seq || (c.read_seq >= c.last_seq && c.unread_count === 0)) return;
    if (!state.sockets.conv.connected) return;
    const r = await emit(state.sockets.conv, 'message:read', { conversation_id: id, seq: c.last_seq });
    c.read_seq = r.read_seq; c.unread_count = r.unread_count;
    renderList();
  }

  function newId() {
    return (crypto.randomUUID ? crypto.randomUUID() : Date.now() + '-' + Math.random().toString(16).slice(2));
  }

  async function submitComposer(ev) {
    ev.preventDefault();
    const input = $('#composer-input');
    const text = input.value.trim();
    if (!text) return;
    const sock = state.sockets.conv;
    if (state.editing) {
      const m = await emit(sock, 'message:edit', { message_id: state.editing.id, text });
      addMessage(m);
      state.editing = null;
    } else {
      const id = state.current;
      const m = await emit(sock, 'message:send', { conversation_id: id, client_msg_id: newId(), text });
      addMessage(m);
      const c = state.convs.get(id);
      if (m.seq > c.last_seq) { c.last_seq = m.seq; c.last_message = m; }
      c.read_seq = Math.max(c.read_seq, m.seq);
      state.order = [id, ...state.order.filter((x) => x !== id)];
      state.typingSentAt = 0;  // the hub ends our typing state itself on send
    }
    input.value = '';
    renderComposer(); renderMessages(); renderList();
  }

  function onComposerInput() {
    if (state.editing || !state.current) return;
    const sock = state.sockets.conv;
    const id = state.current;
    const now = Date.now();
    clearTimeout(state.typingTimer);
    if ($('#composer-input').value.trim() === '') { stopTyping(id); return; }
    if (now - state.typingSentAt > 3000) {
      state.typingSentAt = now;
      emit(sock, 'typing', { conversation_id: id, typing: true }).catch(showError);
    }
    state.typingTimer = setTimeout(() => stopTyping(id), 4000);
  }

  function stopTyping(id) {
    clearTimeout(state.typingTimer);
    if (!state.typingSentAt) return;
    state.typingSentAt = 0;
    emit(state.sockets.conv, 'typing', { conversation_id: id, typing: false }).catch(showError);
  }

  // ---------- rendering ----------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  function renderList() {
    const ul = $('#conversations');
    if (!ul) return;
    ul.replaceChildren(...state.order.map((id) => state.convs.get(id)).filter(Boolean).map((c) => {
      const status = convStatus(c);
      const last = c.last_message ? (c.last_message.deleted ? 'message deleted' : `${userName(c.last_message.sender_id)}: ${c.last_message.text}`) : 'no messages yet';
      const badge = c.unread_count ? el('span', { className: 'badge unread', textContent: String(c.unread_count), title: `${c.unread_count} unread` }) : el('span');
      const button = el('button', { type: 'button', className: 'conv-item' },
        el('span', { className: 'dot ' + status, title: status, ariaLabel: status }),
        el('span', { className: 'name', textContent: convTitle(c) }), badge,
        el('span', { className: 'last', textContent: last }));
      button.addEventListener('click', () => { location.hash = '#/c/' + c.id; });
      return el('li', { className: 'conv' }, button);
    }));
    [...ul.children].forEach((li, i) => { li.dataset.id = state.order[i]; });
    $('#no-conversations').hidden = state.order.length > 0;
  }

  function renderConvHead() {
    const c = state.current && state.convs.get(state.current);
    if (!c) return;
    $('#conv-title').textContent = convTitle(c);
    const status = convStatus(c);
    const dot = $('#conv-dot');
    dot.className = 'dot ' + status; dot.title = status; dot.setAttribute('aria-label', status);
    renderContextLink(c);
  }

  // A conversation about a job or a bid links back to the job's page.
  function renderContextLink(c) {
    const link = $('#conv-context');
    const ctx = c.context;
    const jobId = !ctx ? null : ctx.type === 'job' ? ctx.id : ctx.type === 'bid' ? state.bidJobs.get(ctx.id) : null;
    link.hidden = !jobId;
    if (jobId) {
      link.href = '#/jobs/' + encodeURIComponent(jobId);
      link.textContent = ctx.type === 'bid' ? 'About a bid: view the job' : 'About a job: view it';
    }
    if (ctx && ctx.type === 'bid' && !state.bidJobs.has(ctx.id)) {
      state.bidJobs.set(ctx.id, null);
      // The hub stores a context as given; an unknown bid just gets no link.
      api('GET', '/bids/' + encodeURIComponent(ctx.id))
        .then((bid) => { state.bidJobs.set(ctx.id, bid.job_id); renderConvHead(); })
        .catch(() => {});
    }
  }

  function renderMessages() {
    const id = state.current;
    const map = state.messages.get(id);
    if (!id || !map) return;
    const peerRead = state.peerRead.get(id) || 0;
    const list = $('#messages');
    list.replaceChildren(...[...map.values()].sort((a, b) => a.seq - b.seq).map((m) => {
      const mine = state.me && m.sender_id === state.me.id;
      const meta = el('span', { className: 'meta' },
        el('span', { className: 'who', textContent: userName(m.sender_id) }),
        el('time', { textContent: new Date(m.created_at).toLocaleTimeString() }),
        m.edited_at && !m.deleted ? el('span', { className: 'edited', textContent: 'edited' }) : null);
      if (mine) {
        meta.append(el('span', { className: 'receipt', textContent: peerRead >= m.seq ? '✓✓ Read' : '✓ Sent' }));
        if (!m.deleted) {
          const edit = el('button', { type: 'button', className: 'edit', textContent: 'Edit' });
          edit.addEventListener('click', () => { state.editing = m; $('#composer-input').value = m.text; renderComposer(); $('#composer-input').focus(); });
          const del = el('button', { type: 'button', className: 'delete', textContent: 'Delete' });
          del.addEventListener('click', act(async () => {
            await emit(state.sockets.conv, 'message:delete', { message_id: m.id });
            addMessage({ ...m, text: '', attachments: [], deleted: true }); renderMessages();
          }));
          meta.append(edit, del);
        }
      }
      const li = el('li', { className: 'msg' + (mine ? ' mine' : '') + (m.deleted ? ' deleted' : '') },
        el('div', { className: 'text', textContent: m.deleted ? 'message deleted' : m.text }), meta);
      li.dataset.seq = String(m.seq);
      return li;
    }));
    $('#load-older').hidden = !state.hasMore.get(id);
    if (!state.loadingOlder) list.lastElementChild && list.lastElementChild.scrollIntoView({ block: 'nearest' });
  }

  function renderTyping() {
    const users = state.current && state.typing.get(state.current);
    const names = users ? [...users.keys()].map(userName) : [];
    $('#typing').textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
  }

  function renderComposer() {
    const editing = !!state.editing;
    $('#composer-label').textContent = editing ? 'Edit message (Esc cancels)' : 'Message';
    $('#composer-send').textContent = editing ? 'Save' : 'Send';
    $('#composer-cancel').hidden = !editing;
  }

  // ---------- notifications ----------
  async function loadNotifications() {
    const page = await api('GET', '/notifications?limit=50');
    state.notifications = page.items;
    renderNotifications();
  }

  function renderNotifications() {
    const unread = state.notifications.filter((n) => !n.read).length;
    $('#notif-badge').textContent = String(unread);
    $('#notif-badge').hidden = unread === 0;
    $('#notif-list').replaceChildren(...state.notifications.map((n) => el('li', { className: n.read ? '' : 'unread',
      textContent: `${n.type} · ${new Date(n.created_at).toLocaleString()}` })));
  }

  // ---------- jobs and bids (REST /jobs, /bids) ----------
  // Amounts are minor units on the wire (cents); forms and pages use the
  // currency's own decimals (ISO 4217, from Intl).
  function minorDigits(currency) {
    try { return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits; }
    catch (err) { return 2; }
  }
  const toMinor = (value, currency) => Math.round(Number(value) * 10 ** minorDigits(currency));
  function money(amount, currency) {
    const digits = minorDigits(currency);
    return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
  }
  const budget = (job) => `${money(job.budget_min, job.currency)} – ${money(job.budget_max, job.currency)}`;
  const ACTIVE_BIDS = ['pending', 'shortlisted', 'awarded', 'accepted'];

  async function loadJobs() {
    const client = state.me.role === 'client';
    $('#job-form').hidden = !client;
    $('#my-jobs-box').hidden = !client;
    const open = await api('GET', '/jobs?status=open&limit=50');
    renderJobList('#jobs', '#no-jobs', open.items);
    if (client) {
      const mine = await api('GET', '/jobs?limit=50&owner_id=' + encodeURIComponent(state.me.id));
      renderJobList('#my-jobs', '#no-my-jobs', mine.items);
    }
  }

  function renderJobList(listSel, emptySel, jobs) {
    $(listSel).replaceChildren(...jobs.map((job) => {
      const b = el('button', { type: 'button', className: 'conv-item' },
        el('span', { className: 'name', textContent: job.title }),
        el('span', { textContent: `${budget(job)} · ${job.type}` }),
        el('span', { className: 'last', textContent: `${job.status} · ${job.skills.join(', ') || 'no skills listed'}` }));
      b.addEventListener('click', () => { location.hash = '#/jobs/' + encodeURIComponent(job.id); });
      const li = el('li', { className: 'job' }, b);
      li.dataset.id = job.id;
      return li;
    }));
    $(emptySel).hidden = jobs.length > 0;
  }

  // The id of the job whose page is on screen, if any.
  const jobOnScreen = () => (location.hash.startsWith('#/jobs/') ? decodeURIComponent(location.hash.slice(7)) : null);

  // The job and its bids: the owner sees every bid, anyone else only their own.
  async function openJob(id) {
    if (!state.job || state.job.job.id !== id) {  // another job's page must not show meanwhile
      state.job = null;
      $('#job-title').textContent = 'Loading…';
      for (const sel of ['#job-meta', '#job-description', '#job-skills']) $(sel).textContent = '';
      $('#bids').replaceChildren(); $('#no-bids').hidden = true; $('#bid-form').hidden = true;
    }
    const job = await api('GET', '/jobs/' + encodeURIComponent(id));
    const bids = await api('GET', `/jobs/${encodeURIComponent(id)}/bids?limit=100`);
    if (jobOnScreen() !== id) return;  // the user moved on meanwhile
    state.job = { job, bids: bids.items };
    for (const bid of bids.items) state.bidJobs.set(bid.id, job.id);
    renderJob();
  }

  function renderJob() {
    if (!state.job || !state.me) return;
    const { job, bids } = state.job;
    const owner = job.owner_id === state.me.id;
    $('#job-title').textContent = job.title;
    $('#job-meta').textContent = `${job.status} · ${job.type === 'hourly' ? 'hourly' : 'fixed price'} · ${budget(job)} · posted by ${userName(job.owner_id)}`;
    $('#job-description').textContent = job.description;
    $('#job-skills').textContent = job.skills.length ? 'Skills: ' + job.skills.join(', ') : '';
    $('#bids-heading').textContent = owner ? 'Bids' : 'Your bid';
    $('#bids').replaceChildren(...bids.map((bid) => {
      const party = owner || bid.freelancer_id === state.me.id;
      const talk = party ? el('button', { type: 'button', className: 'bid-chat', textContent: 'Open conversation' }) : null;
      if (talk) talk.addEventListener('click', act(() => openBidConversation(job, bid)));
      const li = el('li', { className: 'bid card' },
        el('p', null, el('strong', { className: 'who', textContent: userName(bid.freelancer_id) }),
          ` · ${money(bid.amount, bid.currency)} in ${bid.period_days} day${bid.period_days === 1 ? '' : 's'} · `,
          el('span', { className: 'bid-status', textContent: bid.status })),
        el('p', { className: 'proposal pre', textContent: bid.proposal }),
        talk);
      li.dataset.id = bid.id;
      return li;
    }));
    $('#no-bids').textContent = owner ? 'No bids yet.' : 'You have not bid on this job.';
    $('#no-bids').hidden = bids.length > 0;
    const mine = bids.some((b) => b.freelancer_id === state.me.id && ACTIVE_BIDS.includes(b.status));
    $('#bid-form').hidden = !(state.me.role === 'freelancer' && job.status === 'open' && !owner && !mine);
    $('#bid-currency').textContent = job.currency;
  }

  // The bid's conversation, between the job's owner and the bidder. An accepted
  // bid names it (conversation_id); before that, the one with the bid's context
  // is used, created if needed the way the hub does when a bid is accepted: a
  // direct conversation with context {type: "bid", id}, or, when the pair already
  // has a direct one about something else, a group of the two titled after the job.
  async function openBidConversation(job, bid) {
    const sock = state.sockets.conv;
    state.bidJobs.set(bid.id, job.id);
    const isBid = (c) => c && c.context && c.context.type === 'bid' && c.context.id === bid.id;
    let c = bid.conversation_id ? await emit(sock, 'conversation:get', { conversation_id: bid.conversation_id })
      : [...state.convs.values()].find(isBid);
    if (!c) {
      const peer = state.me.id === bid.freelancer_id ? job.owner_id : bid.freelancer_id;
      const context = { type: 'bid', id: bid.id };
      c = await emit(sock, 'conversation:create', { participant_ids: [peer], type: 'direct', context });
      if (!isBid(c)) {
        c = await emit(sock, 'conversation:create', { participant_ids: [peer], type: 'group', title: job.title.slice(0, 200), context });
      }
    }
    upsertConversation(c, !state.convs.has(c.id));
    location.hash = '#/c/' + encodeURIComponent(c.id);
  }

  // ---------- calls (/signaling) ----------
  function bindSignaling(sock) {
    sock.on('call:incoming', (e) => {
      if (state.call) return;  // busy: it keeps ringing until missed
      state.call = { id: e.call.id, role: 'callee', ice: e.ice_servers, peerId: e.call.caller_id, pendingIce: [], incoming: e.call };
      $('#incoming-text').textContent = `${userName(e.call.caller_id)} is calling (${e.call.media})`;
      $('#incoming').hidden = false;
      $('#incoming-accept').focus();
    });
    const over = (text) => (e) => { if (state.call && state.call.id === e.call_id) endCall(text); };
    sock.on('call:declined', over('Call declined'));
    sock.on('call:cancelled', over('Call cancelled'));
    sock.on('call:missed', (e) => {
      const call = state.call;
      if (!call || call.id !== e.call_id) return;
      endCall('Missed call');
      showNotice(call.role === 'caller' ? `${userName(call.peerId)} did not answer: missed call`
        : `Missed call from ${userName(call.peerId)}`);
    });
    sock.on('call:ended', over('Call ended'));
    sock.on('call:answered_elsewhere', over('Answered on another device'));
    sock.on('call:accepted', act(async (e) => {
      const call = state.call;
      if (!call || call.id !== e.call_id) return;
      $('#call-state').textContent = 'connecting…';
      await startPeer(call);
      const offer = await call.pc.createOffer();
      await call.pc.setLocalDescription(offer);
      await emit(sock, 'signal', { call_id: call.id, type: 'offer', sdp: call.pc.localDescription.sdp });
    }));
    sock.on('signal', act(async (e) => {
      const key = e.call_id ? 'call_id' : 'session_id';
      const call = e.call_id ? state.call : state.session;
      if (!call || e[key] !== call.id) return;
      if (call.ready) await call.ready;
      if (!call.pc) return;
      if (e.type === 'offer') {
        await call.pc.setRemoteDescription({ type: 'offer', sdp: e.sdp });
        await flushIce(call);
        const answer = await call.pc.createAnswer();
        await call.pc.setLocalDescription(answer);
        await emit(sock, 'signal', { [key]: call.id, type: 'answer', sdp: call.pc.localDescription.sdp });
      } else if (e.type === 'answer') {
        await call.pc.setRemoteDescription({ type: 'answer', sdp: e.sdp });
        await flushIce(call);
      } else if (e.type === 'candidate' && e.candidate) {
        if (call.pc.remoteDescription) await call.pc.addIceCandidate(e.candidate);
        else call.pendingIce.push(e.candidate);
      }
    }));
  }

  async function flushIce(call) {
    const queued = call.pendingIce.splice(0);
    for (const c of queued) await call.pc.addIceCandidate(c);
  }

  function startPeer(call) {
    return makePeer(call, 'call_id', 'call', () => state.call === call, 'in call');
  }

  // A peer connection for a call or a networking session: local media, trickled
  // candidates through `signal`, remote video, connection state shown in #<prefix>-state.
  async function makePeer(link, key, prefix, current, connectedText) {
    link.stream = link.stream || await HubRtc.getMedia();
    if (!current()) { link.stream.getTracks().forEach((t) => t.stop()); return; }
    $(`#${prefix}-local`).srcObject = link.stream;
    const pc = new RTCPeerConnection(HubRtc.iceConfig(link.ice));
    link.pc = pc;
    link.stream.getTracks().forEach((t) => pc.addTrack(t, link.stream));
    pc.onicecandidate = (ev) => {
      if (ev.candidate && current()) emit(state.sockets.signaling, 'signal', { [key]: link.id, type: 'candidate', candidate: ev.candidate.toJSON() }).catch(showError);
    };
    pc.ontrack = (ev) => { $(`#${prefix}-remote`).srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onconnectionstatechange = () => { if (current()) $(`#${prefix}-state`).textContent = pc.connectionState === 'connected' ? connectedText : pc.connectionState; };
  }

  // ---------- speed networking (/networking + /signaling) ----------
  async function loadLobbies() {
    const page = await api('GET', '/networking/lobbies?limit=50');
    const open = page.items.filter((l) => l.status === 'open');
    $('#lobbies').replaceChildren(...open.map((l) => {
      const b = el('button', { type: 'button', className: 'conv-item' },
        el('span', { className: 'name', textContent: l.title }),
        el('span', { textContent: `${l.duration_minutes} min · ${l.waiting} waiting` }),
        el('span', { className: 'last', textContent: 'Join · ' + l.topic }));
      b.addEventListener('click', act(() => joinLobby(l)));
      return el('li', { className: 'lobby' }, b);
    }));
    $('#no-lobbies').hidden = open.length > 0;
  }

  async function joinLobby(l) {
    const r = await emit(state.sockets.net, 'lobby:join', { lobby_id: l.id });
    state.lobby = { id: l.id, title: l.title };
    renderLobby(`${r.waiting} waiting`);
  }

  function renderLobby(text) {
    $('#lobby-pick').hidden = !!state.lobby;
    $('#lobby-in').hidden = !state.lobby;
    if (state.lobby) $('#lobby-title').textContent = state.lobby.title;
    if (text !== undefined) $('#lobby-waiting').textContent = text;
  }

  function bindNetworking(sock) {
    sock.on('lobby:update', (u) => {
      if (state.lobby && u.lobby_id === state.lobby.id) renderLobby(`${u.waiting} waiting · ${u.active_sessions} in sessions`);
    });
    sock.on('match:found', act(async (m) => {
      endSessionMedia();
      const sess = { id: m.session_id, role: m.role, ice: m.ice_servers, pendingIce: [], endsAt: Date.parse(m.ends_at) };
      state.session = sess;
      state.rating = null;
      $('#session').hidden = false; $('#rate-form').hidden = true; $('#session-result').textContent = '';
      $('#session-peer').textContent = m.peer.display_name + (m.peer.headline ? ` (${m.peer.headline})` : '');
      $('#session-state').textContent = 'connecting…';
      sess.timer = setInterval(() => tickSession(sess), 500); tickSession(sess);
      if (location.hash !== '#/lobby') location.hash = '#/lobby';
      sess.ready = makePeer(sess, 'session_id', 'session', () => state.session === sess, 'connected');
      await sess.ready;
      if (m.role === 'offerer' && state.session === sess) {
        await sess.pc.setLocalDescription(await sess.pc.createOffer());
        await emit(state.sockets.signaling, 'signal', { session_id: sess.id, type: 'offer', sdp: sess.pc.localDescription.sdp });
      }
    }));
    const reasons = { time_up: 'Time is up', peer_left: 'Your partner left', peer_no_show: 'Your partner did not show up', lobby_closed: 'The lobby closed' };
    sock.on('session:ended', (e) => {
      if (!state.session || state.session.id !== e.session_id) return;
      finishSession(reasons[e.reason] || 'Session ended');
      if (e.reason === 'lobby_closed') { state.lobby = null; renderLobby(); }
    });
    sock.on('networking:connected', act(async (e) => {
      const c = await emit(state.sockets.conv, 'conversation:get', { conversation_id: e.conversation_id });
      // The peer was anonymous until now: load their profile before naming them.
      await Promise.all(others(c).filter((id) => !(state.users.get(id) || {}).display_name)
        .map(async (id) => state.users.set(id, await api('GET', '/users/' + encodeURIComponent(id)))));
      upsertConversation(c, !state.convs.has(c.id));
      const result = $('#session-result');
      result.replaceChildren(`You are connected with ${convTitle(c)}: `,
        el('a', { href: '#/c/' + c.id, textContent: 'open the chat' }));
    }));
  }

  function tickSession(sess) {
    const left = Math.max(0, Math.round((sess.endsAt - Date.now()) / 1000));
    $('#session-countdown').textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
  }

  function endSessionMedia() {
    const sess = state.session;
    state.session = null;
    if (!sess) return;
    clearInterval(sess.timer);
    if (sess.pc) sess.pc.close();
    if (sess.stream) sess.stream.getTracks().forEach((t) => t.stop());
    $('#session-local').srcObject = null; $('#session-remote').srcObject = null;
  }

  function finishSession(text) {
    const id = state.session && state.session.id;
    endSessionMedia();
    $('#session-state').textContent = text;
    $('#session-countdown').textContent = '';
    if (id) { state.rating = id; $('#rate-form').hidden = false; $('#rate-form').reset(); }
  }

  async function startCall() {
    if (state.call) throw new HubError('conflict', 'You are already in a call');
    const convId = state.current;
    const c = state.convs.get(convId);
    state.call = { id: null, role: 'caller', pendingIce: [], peerId: others(c)[0] };
    try {
      state.call.stream = await HubRtc.getMedia();
      const call = await emit(state.sockets.signaling, 'call:invite', { conversation_id: convId, media: 'video' });
      state.call.id = call.id;
      const ice = await api('GET', '/rtc/ice-servers');
      state.call.ice = ice.ice_servers;
    } catch (err) {
      endCall(null);
      throw err;
    }
    $('#call-peer').textContent = 'with ' + convTitle(c);
    $('#call-local').srcObject = state.call.stream;
    $('#call-state').textContent = 'ringing…';
    location.hash = '#/call';
  }

  async function acceptCall() {
    const call = state.call;
    $('#incoming').hidden = true;
    if (!call) return;
    try {
      // The peer connection exists before the accept: the caller's offer follows it.
      await startPeer(call);
      await emit(state.sockets.signaling, 'call:accept', { call_id: call.id });
      $('#call-peer').textContent = 'with ' + userName(call.peerId);
      $('#call-state').textContent = 'connecting…';
      location.hash = '#/call';
    } catch (err) {
      endCall(null);
      throw err;
    }
  }

  async function declineCall() {
    const call = state.call;
    $('#incoming').hidden = true;
    endCall(null);
    if (call) await emit(state.sockets.signaling, 'call:decline', { call_id: call.id });
  }

  async function hangUp() {
    const call = state.call;
    endCall('Call ended');
    if (call && call.id) await emit(state.sockets.signaling, 'call:end', { call_id: call.id });
  }

  function endCall(text) {
    const call = state.call;
    state.call = null;
    $('#incoming').hidden = true;
    if (call) {
      if (call.pc) call.pc.close();
      if (call.stream) call.stream.getTracks().forEach((t) => t.stop());
    }
    $('#call-remote').srcObject = null; $('#call-local').srcObject = null;
    if (text) { $('#call-state').textContent = text; flashStatus(text); }
  }

  // Shows text in the status badge for 3 s.
  function flashStatus(text) {
    const el2 = $('#status'); const before = [el2.textContent, el2.className];
    el2.textContent = text;
    setTimeout(() => { if (el2.textContent === text) { el2.textContent = before[0]; el2.className = before[1]; } }, 3000);
  }

  // ---------- device check (echo) ----------
  async function startEcho() {
    if (state.echo) return;
    $('#echo-state').textContent = 'starting camera…';
    const stream = await HubRtc.getMedia();
    const ice = await api('GET', '/rtc/ice-servers');
    const pc = new RTCPeerConnection(HubRtc.iceConfig(ice.ice_servers));
    state.echo = { pc, stream };
    $('#echo-local').srcObject = stream;
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    pc.ontrack = (ev) => { $('#echo-remote').srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onconnectionstatechange = () => { $('#echo-state').textContent = pc.connectionState === 'connected' ? 'receiving your echo' : pc.connectionState; };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await HubRtc.gathered(pc);
      $('#echo-state').textContent = 'connecting to the hub…';
      const answer = await emit(state.sockets.signaling, 'echo:start', { sdp: pc.localDescription.sdp });
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } catch (err) {
      stopEcho(false);
      $('#echo-state').textContent = 'failed';
      throw err;
    }
  }

  function stopEcho(tell) {
    const echo = state.echo;
    state.echo = null;
    if (!echo) return;
    echo.pc.close();
    echo.stream.getTracks().forEach((t) => t.stop());
    $('#echo-local').srcObject = null; $('#echo-remote').srcObject = null;
    $('#echo-state').textContent = 'stopped';
    if (tell && state.sockets) emit(state.sockets.signaling, 'echo:stop', {}).catch(showError);
  }

  // ---------- routing ----------
  function show(view) {
    for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== 'view-' + view;
  }

  const route = act(async () => {
    const hash = location.hash || '#/conversations';
    if (!state.auth) { show('auth'); return; }
    if (!hash.startsWith('#/c/') && state.current) { stopTyping(state.current); state.current = null; }
    if (!hash.startsWith('#/jobs/')) state.job = null;
    if (hash !== '#/device' && state.echo) stopEcho(true);
    if (hash === '#/lobby') { show('lobby'); renderLobby(); if (!state.lobby) await loadLobbies(); return; }
    if (hash === '#/jobs') { show('jobs'); await loadJobs(); return; }
    if (hash.startsWith('#/jobs/')) { show('job'); await openJob(decodeURIComponent(hash.slice(7))); return; }
    if (hash.startsWith('#/c/')) { show('conv'); await openConversation(decodeURIComponent(hash.slice(4))); }
    else if (hash === '#/device') show('device');
    else if (hash === '#/call') show('call');
    else show('list');
  });

  // ---------- session ----------
  async function startSession() {
    $('#nav').hidden = false;
    $('#me-name').textContent = state.me.display_name;
    $('#me-id').textContent = state.me.id;
    setStatus('connecting…', 'reconnecting');
    connect();
    if (!location.hash || location.hash === '#/login') location.hash = '#/conversations';
    await route();
  }

  function logout(tell) {
    const auth = state.auth;
    stopEcho(false); endCall(null); endSessionMedia(); state.lobby = null; state.rating = null;
    state.auth = null; state.me = null;
    localStorage.removeItem(AUTH_KEY);
    if (state.sockets) { state.sockets.manager.engine && state.sockets.manager.engine.close(); Object.values(state.sockets).forEach((s) => s.disconnect && s.disconnect()); }
    state.sockets = null; state.everConnected = false;
    state.convs.clear(); state.order = []; state.messages.clear(); state.current = null;
    state.peerRead.clear(); state.job = null; state.bidJobs.clear();
    $('#nav').hidden = true;
    setStatus('signed out', '');
    if (tell && auth) fetch(API + '/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: auth.refresh_token }) }).catch(() => {});
    location.hash = '#/login';
    show('auth');
  }

  const formData = (form) => Object.fromEntries(new FormData(form).entries());
  $('#signup-form').addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    saveAuth(await api('POST', '/auth/register', formData(ev.target)));
    await startSession();
  }));
  $('#login-form').addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    saveAuth(await api('POST', '/auth/login', formData(ev.target)));
    await startSession();
  }));
  $('#logout').addEventListener('click', () => logout(true));
  $('#new-conv-form').addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    const userId = ev.target.user_id.value.trim();
    const c = await emit(state.sockets.conv, 'conversation:create', { participant_ids: [userId] });
    upsertConversation(c, !state.convs.has(c.id));
    ev.target.reset();
    location.hash = '#/c/' + c.id;
  }));
  $('#job-form').addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;  // (form.title would be the form's own title attribute)
    const currency = f.currency.value;
    const job = await api('POST', '/jobs', {
      title: f.title.value.trim(), description: f.description.value.trim(),
      skills: f.skills.value.split(',').map((s) => s.trim()).filter(Boolean),
      budget_min: toMinor(f.budget_min.value, currency), budget_max: toMinor(f.budget_max.value, currency),
      currency, type: f.type.value, publish: true });
    ev.target.reset();
    location.hash = '#/jobs/' + encodeURIComponent(job.id);
  }));
  $('#bid-form').addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const job = state.job.job;
    await api('POST', `/jobs/${encodeURIComponent(job.id)}/bids`, {
      amount: toMinor(f.amount.value, job.currency), currency: job.currency,
      period_days: Number(f.period_days.value), proposal: f.proposal.value.trim() });
    ev.target.reset();
    await openJob(job.id);
  }));
  $('#composer').addEventListener('submit', act(submitComposer));
  $('#composer-input').addEventListener('input', onComposerInput);
  $('#composer-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.editing) { state.editing = null; ev.target.value = ''; renderComposer(); }
  });
  $('#composer-cancel').addEventListener('click', () => { state.editing = null; $('#composer-input').value = ''; renderComposer(); });
  $('#load-older').addEventListener('click', act(async () => { state.loadingOlder = true; try { await loadOlder(); } finally { state.loadingOlder = false; } }));
  $('#call-start').addEventListener('click', act(startCall));
  $('#incoming-accept').addEventListener('click', act(acceptCall));
  $('#incoming-decline').addEventListener('click', act(declineCall));
  $('#call-hangup').addEventListener('click', act(async () => { await hangUp(); history.back(); }));
  $('#echo-start').addEventListener('click', act(startEcho));
  $('#lobby-leave').addEventListener('click', act(async () => {
    const lobby = state.lobby;
    state.lobby = null;
    endSessionMedia(); $('#session').hidden = true;
    renderLobby();
    if (lobby) await emit(state.sockets.net, 'lobby:leave', { lobby_id: lobby.id });
    await loadLobbies();
  }));
  $('#session-leave').addEventListener('click', act(async () => {
    const sess = state.session;
    if (!sess) return;
    finishSession('You left the session');
    await emit(state.sockets.net, 'session:leave', { session_id: sess.id });
  }));
  $('#rate-form').addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const payload = { session_id: state.rating, stars: Number(f.stars.value), connect: f.connect.checked };
    if (f.note.value.trim()) payload.note = f.note.value.trim();
    await emit(state.sockets.net, 'session:rate', payload);
    f.hidden = true;
    state.rating = null;
    if (!$('#session-result').textContent) $('#session-result').textContent = payload.connect ? 'Thanks! If they choose to connect too, a chat opens.' : 'Thanks for rating.';
  }));
  $('#echo-stop').addEventListener('click', () => stopEcho(true));
  $('#notif-toggle').addEventListener('click', act(async () => {
    const drawer = $('#notifications');
    drawer.hidden = !drawer.hidden;
    $('#notif-toggle').setAttribute('aria-expanded', String(!drawer.hidden));
    if (!drawer.hidden) await loadNotifications();
  }));
  $('#notif-read-all').addEventListener('click', act(async () => { await api('POST', '/notifications/read-all'); await loadNotifications(); }));
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { $('#notifications').hidden = true; } });
  window.addEventListener('hashchange', route);
  // Test hook: frames decoded by the call / echo peer connections.
  window.hubFrames = { call: () => HubRtc.framesDecoded(state.call && state.call.pc), echo: () => HubRtc.framesDecoded(state.echo && state.echo.pc),
    session: () => HubRtc.framesDecoded(state.session && state.session.pc) };

  const saved = JSON.parse(localStorage.getItem(AUTH_KEY) || 'null');
  if (saved && saved.access_token) {
    state.auth = { access_token: saved.access_token, refresh_token: saved.refresh_token };
    state.me = saved.user;
    act(startSession)();
  } else {
    route();
  }
})();
