// Other users' public profiles, fetched once each, for their names.
import { state } from './state.js';
import { api } from './api.js';

const redraws = [];
// Views showing names register here to redraw when a profile arrives.
export function onProfile(redraw) { redraws.push(redraw); }

const fetchProfile = (id) => api('GET', '/users/' + encodeURIComponent(id));

// The name to show now; an unknown user shows a short id until the profile arrives.
export function userName(id) {
  if (state.me && id === state.me.id) return 'You';
  const u = state.users.get(id);
  if (u && u.display_name) return u.display_name;
  if (!u) {
    state.users.set(id, {});
    fetchProfile(id)
      .then((profile) => { state.users.set(id, profile); redraws.forEach((redraw) => redraw()); })
      .catch(() => state.users.delete(id));
  }
  return 'user ' + id.slice(0, 8);
}

// Loads the profiles not known yet, and waits for them.
export async function loadProfiles(ids) {
  const missing = ids.filter((id) => !(state.users.get(id) || {}).display_name);
  await Promise.all(missing.map(async (id) => state.users.set(id, await fetchProfile(id))));
}
