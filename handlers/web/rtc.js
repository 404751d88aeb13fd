// Small WebRTC helpers shared by the device check, calls and networking sessions.
export function iceConfig(iceServers) {
  return { iceServers: (iceServers || []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })) };
}

export function getMedia() {
  return navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
}

// Resolves once ICE gathering is complete (echo:start needs a complete offer).
export function gathered(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === 'complete') { pc.removeEventListener('icegatheringstatechange', done); resolve(); } };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs);
  });
}

// Video frames decoded so far on this connection (inbound-rtp framesDecoded).
export async function framesDecoded(pc) {
  if (!pc) return 0;
  let total = 0;
  const stats = await pc.getStats();
  stats.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') total += r.framesDecoded || 0; });
  return total;
}

export function stopTracks(stream) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
}
