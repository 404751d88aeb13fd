// The official JavaScript client (npm socket.io-client) while the hub shuts down.
//
// Env: HUB_URL, TOKEN (an access token), CONVERSATION_ID (one the user is in).
// Run by tests/test_shutdown.py, which drives it through stdin, one command a line:
//   send    emit message:send (client_msg_id "in-flight") and report its ack
//   typing  emit `typing` every 20 ms from now on and report every answer
// It prints one JSON line per thing that happens ({"event": ..., "t": ms since
// the epoch}) and exits 0 soon after the socket disconnects (global timeout: 20 s).

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const ACK_TIMEOUT_MS = 8_000;
const GLOBAL_TIMEOUT_MS = 20_000;
const { HUB_URL, TOKEN, CONVERSATION_ID } = process.env;

const report = (event, fields = {}) =>
  console.log(JSON.stringify({ event, t: Date.now(), ...fields }));

const socket = io(HUB_URL.replace(/\/+$/, "") + "/conversations", {
  auth: { token: TOKEN },
  transports: ["websocket"],
  reconnection: false,
});

async function answer(name, payload) {
  try {
    const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(name, payload);
    return ack.ok ? { ok: true } : { ok: false, code: ack.error.code };
  } catch (err) {
    return { ok: false, code: "client:" + err.message };
  }
}

let typing = null;
socket.on("connect", () => report("connected"));
socket.on("connect_error", (err) => report("connect_error", { message: err.message }));
socket.on("disconnect", (reason) => {
  report("disconnect", { reason });
  clearInterval(typing);
  setTimeout(() => process.exit(0), 300); // let the rejected acks report first
});

createInterface({ input: process.stdin }).on("line", async (command) => {
  if (command === "send") {
    const result = await answer("message:send", {
      conversation_id: CONVERSATION_ID, client_msg_id: "in-flight", text: "sent before SIGTERM",
    });
    report("send_ack", result);
  } else if (command === "typing") {
    typing = setInterval(async () => {
      const sent = Date.now();
      const result = await answer("typing", { conversation_id: CONVERSATION_ID, typing: true });
      report("typing_ack", { ...result, sent });
    }, 20);
  }
});

setTimeout(() => {
  report("timeout");
  process.exit(1);
}, GLOBAL_TIMEOUT_MS);
