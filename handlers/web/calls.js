// /signaling: video calls in a conversation, the device check (the hub's echo
// peer), and the peer-connection plumbing networking sessions share. docs/video.md.
import { state } from './state.js';
import { $, act, showError, showNotice, flashStatus } from './ui.js';
import { api, HubError } from './api.js';
import { emit } from './socket.js';
import { userName } from './users.js';
import { others, convTitle } from './chat.js';
import * as rtc from './rtc.js';

// ---------- signaling events ----------
export function bindCalls(s) {
  const sock = s.signaling;
  sock.on('call:incoming', onIncoming);
  const over = (text) => (e) => { if (state.call && state.call.id === e.call_id) endCall(text); };
  sock.on('call:declined', over('Call declined'));
  sock.on('call:cancelled', over('Call cancelled'));
  sock.on('call:missed', onMissed);
  sock.on('call:ended', over('Call ended'));
  sock.on('call:answered_elsewhere', over('Answered on another device'));
  sock.on('call:accepted', act((e) => onAccepted(sock, e)));
  sock.on('signal', act((e) => onSignal(sock, e)));
}

function onIncoming(e) {
  if (state.call) return;  // busy: it keeps ringing until missed
  state.call = { id: e.call.id, role: 'callee', ice: e.ice_servers, peerId: e.call.caller_id, pendingIce: [] };
  $('#incoming-text').textContent = `${userName(e.call.caller_id)} is calling (${e.call.media})`;
  $('#incoming').hidden = false;
  $('#incoming-accept').focus();
}

function onMissed(e) {
  const call = state.call;
  if (!call || call.id !== e.call_id) return;
  endCall('Missed call');
  showNotice(call.role === 'caller' ? `${userName(call.peerId)} did not answer: missed call`
    : `Missed call from ${userName(call.peerId)}`);
}

// The callee accepted: the caller makes the offer.
async function onAccepted(sock, e) {
  const call = state.call;
  if (!call || call.id !== e.call_id) return;
  $('#call-state').textContent = 'connecting…';
  await startPeer(call);
  await call.pc.setLocalDescription(await call.pc.createOffer());
  await emit(sock, 'signal', { call_id: call.id, type: 'offer', sdp: call.pc.localDescription.sdp });
}

// Offer, answer or candidate, for a call (call_id) or a networking session (session_id).
async function onSignal(sock, e) {
  const key = e.call_id ? 'call_id' : 'session_id';
  const link = e.call_id ? state.call : state.session;
  if (!link || e[key] !== link.id) return;
  if (link.ready) await link.ready;
  if (!link.pc) return;
  if (e.type === 'offer') {
    await link.pc.setRemoteDescription({ type: 'offer', sdp: e.sdp });
    await flushIce(link);
    await link.pc.setLocalDescription(await link.pc.createAnswer());
    await emit(sock, 'signal', { [key]: link.id, type: 'answer', sdp: link.pc.localDescription.sdp });
  } else if (e.type === 'answer') {
    await link.pc.setRemoteDescription({ type: 'answer', sdp: e.sdp });
    await flushIce(link);
  } else if (e.type === 'candidate' && e.candidate) {
    // A candidate can arrive before the description it belongs to.
    if (link.pc.remoteDescription) await link.pc.addIceCandidate(e.candidate);
    else link.pendingIce.push(e.candidate);
  }
}

async function flushIce(link) {
  for (const c of link.pendingIce.splice(0)) await link.pc.addIceCandidate(c);
}

// A peer connection for a call or a networking session: local media, trickled
// candidates through `signal`, remote video, connection state shown in #<prefix>-state.
// current() says whether the call / session is still the one on screen.
export async function makePeer(link, key, prefix, current, connectedText) {
  link.stream = link.stream || await rtc.getMedia();
  if (!current()) { rtc.stopTracks(link.stream); return; }
  $(`#${prefix}-local`).srcObject = link.stream;
  const pc = new RTCPeerConnection(rtc.iceConfig(link.ice));
  link.pc = pc;
  link.stream.getTracks().forEach((t) => pc.addTrack(t, link.stream));
  pc.onicecandidate = (ev) => {
    if (ev.candidate && current()) emit(state.sockets.signaling, 'signal', { [key]: link.id, type: 'candidate', candidate: ev.candidate.toJSON() }).catch(showError);
  };
  pc.ontrack = (ev) => { $(`#${prefix}-remote`).srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => { if (current()) $(`#${prefix}-state`).textContent = pc.connectionState === 'connected' ? connectedText : pc.connectionState; };
}

function startPeer(call) {
  return makePeer(call, 'call_id', 'call', () => state.call === call, 'in call');
}

// ---------- calls ----------
async function startCall() {
  if (state.call) throw new HubError('conflict', 'You are already in a call');
  const convId = state.current;
  const c = state.convs.get(convId);
  state.call = { id: null, role: 'caller', pendingIce: [], peerId: others(c)[0] };
  try {
    state.call.stream = await rtc.getMedia();
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

// Drops the call's media; text (if any) says why, on the call page and in the badge.
export function endCall(text) {
  const call = state.call;
  state.call = null;
  $('#incoming').hidden = true;
  if (call) {
    if (call.pc) call.pc.close();
    rtc.stopTracks(call.stream);
  }
  $('#call-remote').srcObject = null; $('#call-local').srcObject = null;
  if (text) { $('#call-state').textContent = text; flashStatus(text); }
}

// ---------- device check (echo) ----------
async function startEcho() {
  if (state.echo) return;
  $('#echo-state').textContent = 'starting camera…';
  const stream = await rtc.getMedia();
  const ice = await api('GET', '/rtc/ice-servers');
  const pc = new RTCPeerConnection(rtc.iceConfig(ice.ice_servers));
  state.echo = { pc, stream };
  $('#echo-local').srcObject = stream;
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  pc.ontrack = (ev) => { $('#echo-remote').srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => { $('#echo-state').textContent = pc.connectionState === 'connected' ? 'receiving your echo' : pc.connectionState; };
  try {
    // The echo peer takes no trickled candidates: the offer goes once gathering is done.
    await pc.setLocalDescription(await pc.createOffer());
    await rtc.gathered(pc);
    $('#echo-state').textContent = 'connecting to the hub…';
    const answer = await emit(state.sockets.signaling, 'echo:start', { sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  } catch (err) {
    stopEcho(false);
    $('#echo-state').textContent = 'failed';
    throw err;
  }
}

// tell: also ask the hub to drop its side (not when signing out: the socket goes anyway).
export function stopEcho(tell) {
  const echo = state.echo;
  state.echo = null;
  if (!echo) return;
  echo.pc.close();
  rtc.stopTracks(echo.stream);
  $('#echo-local').srcObject = null; $('#echo-remote').srcObject = null;
  $('#echo-state').textContent = 'stopped';
  if (tell && state.sockets) emit(state.sockets.signaling, 'echo:stop', {}).catch(showError);
}

// Test hook: frames decoded by the call / echo / session peer connections.
window.hubFrames = {
  call: () => rtc.framesDecoded(state.call && state.call.pc),
  echo: () => rtc.framesDecoded(state.echo && state.echo.pc),
  session: () => rtc.framesDecoded(state.session && state.session.pc),
};

$('#call-start').addEventListener('click', act(startCall));
$('#incoming-accept').addEventListener('click', act(acceptCall));
$('#incoming-decline').addEventListener('click', act(declineCall));
$('#call-hangup').addEventListener('click', act(async () => { await hangUp(); history.back(); }));
$('#echo-start').addEventListener('click', act(startEcho));
$('#echo-stop').addEventListener('click', () => stopEcho(true));
