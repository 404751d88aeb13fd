// Round trip of the official JavaScript client (npm socket.io-client) against the hub.
//
// Env: HUB_URL (e.g. http://127.0.0.1:8080), TOKEN_A, TOKEN_B (access tokens of two
// users), USER_B (user id of B). Run by tests/test_js_client.py; by hand:
//   HUB_URL=... TOKEN_A=... TOKEN_B=... USER_B=... node tests/js/roundtrip.mjs
//
// Client A connects over WebSocket only, client B with the default transports
// (long-polling first, then the upgrade to WebSocket). A creates a direct
// conversation with B, sends a message, B receives it and marks it read, A sees
// the read receipt. Also: a bad token is refused with err.data.code ===
// "unauthorized", and a malformed payload acks validation_failed without
// disconnecting the socket.
//
// Prints one JSON line on stdout ({"ok": true, ...} or {"ok": false, "step",
// "error"}) and exits 0 on success, 1 on failure (2 on missing env). A global
// timeout makes sure it never hangs.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { io } from "socket.io-client";

const GLOBAL_TIMEOUT_MS = 10_000;
const ACK_TIMEOUT_MS = 5_000;
const NS = "/conversations";

const require = createRequire(import.meta.url);
const clientVersion = JSON.parse(
  readFileSync(require.resolve("socket.io-client/package.json"), "utf8"),
).version;

const env = {};
for (const name of ["HUB_URL", "TOKEN_A", "TOKEN_B", "USER_B"]) {
  env[name] = process.env[name];
  if (!env[name]) {
    console.log(JSON.stringify({ ok: false, step: "env", error: `${name} is not set` }));
    console.error(`roundtrip.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
}
const url = env.HUB_URL.replace(/\/+$/, "") + NS;

let step = "start";
const sockets = [];

function finish(code, line) {
  for (const socket of sockets) socket.disconnect();
  console.log(JSON.stringify(line));
  process.exit(code);
}

function fail(message) {
  console.error(`roundtrip.mjs: step "${step}" failed: ${message}`);
  finish(1, { ok: false, step, error: message });
}

const globalTimer = setTimeout(
  () => fail(`global timeout of ${GLOBAL_TIMEOUT_MS} ms reached`),
  GLOBAL_TIMEOUT_MS,
);

function check(condition, message, actual) {
  if (!condition) {
    throw new Error(actual === undefined ? message : `${message}; got ${JSON.stringify(actual)}`);
  }
}

function connectClient(token, transports) {
  const options = { auth: { token }, reconnection: false, timeout: ACK_TIMEOUT_MS };
  if (transports) options.transports = transports;
  const socket = io(url, options);
  sockets.push(socket);
  return socket;
}

// Resolves with the first `event` whose payload satisfies `accept`; registered
// before the action that triggers it, so nothing can be missed.
function waitFor(socket, event, accept = () => true) {
  return new Promise((resolve) => {
    const listener = (payload) => {
      if (accept(payload)) {
        socket.off(event, listener);
        resolve(payload);
      }
    };
    socket.on(event, listener);
  });
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (err) =>
      reject(new Error(`connect_error: ${err.message} ${JSON.stringify(err.data ?? null)}`)),
    );
  });
}

async function call(socket, event, payload) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
}

async function ok(socket, event, payload) {
  const ack = await call(socket, event, payload);
  check(ack && ack.ok === true && "data" in ack, `${event} ack is not {ok: true, data}`, ack);
  return ack.data;
}

async function main() {
  const result = { ok: false, client_version: clientVersion };

  step = "bad token is refused";
  const intruder = connectClient("not-a-valid-token", ["websocket"]);
  const refusal = await new Promise((resolve, reject) => {
    intruder.once("connect", () => reject(new Error("connected with a bad token")));
    intruder.once("connect_error", resolve);
  });
  check(refusal.data && refusal.data.code === "unauthorized",
    "connect_error err.data.code is not \"unauthorized\"",
    { message: refusal.message, data: refusal.data ?? null });
  check(typeof refusal.data.message === "string" && refusal.data.message.length > 0,
    "connect_error err.data.message is empty", refusal.data);
  intruder.disconnect();
  result.bad_token_error = { code: refusal.data.code, message: refusal.data.message };

  step = "connect A (websocket) and B (default transports)";
  const a = connectClient(env.TOKEN_A, ["websocket"]);
  const b = connectClient(env.TOKEN_B);
  const aEvents = [];
  a.onAny((event) => aEvents.push(event));
  let bDisconnected = null;
  let aDisconnected = null;
  a.on("disconnect", (reason) => { aDisconnected = reason; });
  b.on("disconnect", (reason) => { bDisconnected = reason; });
  // io() opens the Manager and its Engine.IO socket synchronously, so the engine
  // and its first transport exist here, before any upgrade (which on loopback can
  // finish even before the namespace's "connect").
  result.b_transport_initial = b.io.engine.transport.name;
  let bUpgradedTo = null;
  const bUpgraded = new Promise((resolve) => {
    b.io.engine.once("upgrade", (transport) => {
      bUpgradedTo = transport.name;
      resolve(transport.name);
    });
  });
  await Promise.all([connected(a), connected(b)]);
  result.a_transport = a.io.engine.transport.name;
  check(result.a_transport === "websocket", "A is not on websocket", result.a_transport);

  step = "conversation:create";
  const bCreated = waitFor(b, "conversation:created");
  const conversation = await ok(a, "conversation:create", { participant_ids: [env.USER_B] });
  check(conversation.type === "direct", "conversation is not direct", conversation);
  check(Array.isArray(conversation.participant_ids) &&
    conversation.participant_ids.includes(env.USER_B), "B is not a participant", conversation);
  const seenByB = await bCreated;
  check(seenByB.id === conversation.id, "B got conversation:created for another id", seenByB);
  result.conversation_id = conversation.id;

  step = "message:send -> message:new";
  const text = "héllo from socket.io-client 👋";
  const clientMsgId = `js-${Date.now()}`;
  const bNew = waitFor(b, "message:new", (m) => m && m.conversation_id === conversation.id);
  const sent = await ok(a, "message:send", {
    conversation_id: conversation.id, client_msg_id: clientMsgId, text,
  });
  check(sent.seq === 1 && sent.text === text && sent.client_msg_id === clientMsgId,
    "message:send ack data is wrong", sent);
  const received = await bNew;
  check(received.text === text, "message:new text differs", received);
  check(received.seq === sent.seq, "message:new seq differs", received);
  check(received.conversation_id === conversation.id, "message:new conversation_id differs", received);
  check(received.id === sent.id, "message:new id differs from the send ack", received);
  result.message = { id: received.id, seq: received.seq, text: received.text };
  result.b_transport_at_receive = b.io.engine.transport.name;

  step = "message:read -> message:read";
  const aRead = waitFor(a, "message:read", (r) => r && r.conversation_id === conversation.id);
  const readAck = await ok(b, "message:read", { conversation_id: conversation.id, seq: received.seq });
  check(readAck.conversation_id === conversation.id && readAck.read_seq === received.seq &&
    readAck.unread_count === 0, "message:read ack data is wrong", readAck);
  const receipt = await aRead;
  check(receipt.user_id === env.USER_B, "message:read user_id is not B", receipt);
  check(receipt.seq === received.seq, "message:read seq differs", receipt);
  check(typeof receipt.read_at === "string", "message:read has no read_at", receipt);
  result.read = { user_id: receipt.user_id, seq: receipt.seq, read_seq: readAck.read_seq };

  step = "malformed payload";
  const malformed = await call(a, "message:send", {});
  check(malformed && malformed.ok === false && malformed.error &&
    malformed.error.code === "validation_failed", "malformed ack is not validation_failed", malformed);
  const stillThere = await ok(a, "conversation:get", { conversation_id: conversation.id });
  check(stillThere.id === conversation.id, "conversation:get after the bad payload failed", stillThere);
  check(a.connected && aDisconnected === null, "A was disconnected by the bad payload", aDisconnected);
  result.malformed_ack = { ok: malformed.ok, code: malformed.error.code };
  result.connected_after_malformed = a.connected;

  step = "B upgrades to websocket";
  await bUpgraded;
  result.b_upgraded_to = bUpgradedTo;
  result.b_transport_final = b.io.engine.transport.name;
  check(result.b_transport_final === "websocket", "B did not upgrade", result.b_transport_final);
  check(b.connected && bDisconnected === null, "B was disconnected", bDisconnected);

  step = "no echo to the sender";
  check(!aEvents.includes("message:new"), "A received its own message:new", aEvents);
  result.a_events = aEvents;

  result.ok = true;
  return result;
}

main().then(
  (result) => {
    clearTimeout(globalTimer);
    finish(0, result);
  },
  (err) => {
    clearTimeout(globalTimer);
    fail(err && err.message ? err.message : String(err));
  },
);
