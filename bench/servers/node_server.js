// The Node socket.io reference server of the benchmark suite.
//
// Same contract as bare_socketio.py: on every namespace the suite may use, a
// connect that accepts any non-empty `auth.token`; `echo` acks
// {ok: true, data: payload}; `join` {room} puts the socket in a room;
// `broadcast` {room, message} emits `message:new` with `message` to the room,
// except the sender, then acks.
//
// Usage: node node_server.js PORT NAMESPACE...
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const namespaces = process.argv.slice(3);
if (!port || namespaces.length === 0) {
  console.error("usage: node node_server.js PORT NAMESPACE...");
  process.exit(2);
}

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, {
  transports: ["websocket", "polling"],
  serveClient: false,
  // socket.io 4.8's default, spelled out: engine.io 6.6 passes no
  // perMessageDeflate to ws 8, whose default is false, so the deflate the
  // bench clients offer (as browsers do) is declined. Enabled, it would
  // compress only frames of 1 KiB or more (engine.io's threshold).
  perMessageDeflate: false,
});

for (const name of namespaces) {
  const nsp = io.of(name);
  nsp.use((socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    if (typeof token === "string" && token.length > 0) {
      next();
    } else {
      const err = new Error("Missing access token");
      err.data = { code: "unauthorized", message: "Missing access token" };
      next(err);
    }
  });
  nsp.on("connection", (socket) => {
    socket.on("echo", (payload, ack) => {
      if (typeof ack === "function") ack({ ok: true, data: payload });
    });
    socket.on("join", (payload, ack) => {
      socket.join(String(payload && payload.room));
      if (typeof ack === "function") ack({ ok: true, data: {} });
    });
    socket.on("broadcast", (payload, ack) => {
      socket.to(String(payload && payload.room)).emit("message:new", payload && payload.message);
      if (typeof ack === "function") ack({ ok: true, data: {} });
    });
  });
}

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`node socket.io ${require("socket.io/package.json").version} listening on ${port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
