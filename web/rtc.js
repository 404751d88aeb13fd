'use strict';
// Small WebRTC helpers shared by the device check and calls (window.HubRtc).
window.HubRtc = (() => {
  function iceConfig(iceServers) {
    return { iceServers: (iceServers || []).map(s => ({ urls: s.urls, username: s.username, credential: s.credential })) };
  }
  function getMedia() {
    return navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
  }
  // Resolves once ICE gathering is complete (echo:start needs a complete offer).
  function gathered(pc, timeoutMs = 5000) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise(resolve => {
      const done = () => { if (pc.iceGatheringState === 'complete') { pc.removeEventListener('icegatheringstatechange', done); resolve(); } };
      pc.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, timeoutMs);
    });
  }
  // Video frames decoded so far on this connection (inbound-rtp framesDecoded).
  async function framesDecoded(pc) {
    if (!pc) return 0;
    let total = 0;
    const stats = await pc.getStats();
    stats.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') total += r.framesDecoded || 0; });
    return total;
  }
  return { iceConfig, getMedia, gathered, framesDecoded };
})();
