// Reviews on a completed job's page: each side reviews the other once (POST
// /jobs/{id}/reviews {rating 1..5, comment}), and the reviews of both, with their
// average and count (GET /users/{id}/reviews), show under it.
import { state } from './state.js';
import { $, el, onSubmit } from './ui.js';
import { api } from './api.js';
import { userName } from './users.js';
import { post } from './market.js';

const enc = encodeURIComponent;
const SHOWN = 20;  // the newest reviews listed per user
let reload = () => Promise.resolve();

// [{user_id, items, average, count}] for the job's owner and freelancer.
export async function loadReviews(job) {
  const ids = [job.owner_id, job.freelancer_id].filter(Boolean);
  const pages = await Promise.all(ids.map((id) => api('GET', `/users/${enc(id)}/reviews?limit=${SHOWN}`)));
  return ids.map((id, i) => ({ user_id: id, ...pages[i] }));
}

const stars = (rating) => '★'.repeat(rating) + '☆'.repeat(5 - rating);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

// The average in words: "4.5 out of 5 from 2 reviews".
export const averageText = (page) => (page.count
  ? `${Number(page.average).toFixed(1)} out of 5 from ${plural(page.count, 'review')}`
  : 'No reviews yet');

// reviews: loadReviews' answer, or null when the job is not completed.
export function renderReviews(job, reviews, refresh) {
  reload = refresh;
  const box = $('#reviews-box');
  box.hidden = !reviews;
  if (!reviews) return;
  const me = state.me.id;
  const other = me === job.owner_id ? job.freelancer_id : me === job.freelancer_id ? job.owner_id : null;
  const theirs = reviews.find((r) => r.user_id === other);
  const done = theirs && theirs.items.some((r) => r.job_id === job.id && r.author_id === me);
  const form = $('#review-form');
  form.hidden = !other || done;
  if (other) $('#review-form-heading').textContent = `Review ${userName(other)}`;
  $('#reviews').replaceChildren(...reviews.map((page) => summary(job, page)));
}

function summary(job, page) {
  const headingId = `reviews-of-${page.user_id}`;
  const who = page.user_id === state.me.id ? 'you' : userName(page.user_id);
  const box = el('div', { className: 'review-summary card' },
    el('h4', { id: headingId, textContent: `Reviews of ${who}` }),
    el('p', { className: 'review-average', textContent: averageText(page) }),
    page.items.length ? el('ul', { className: 'reviews' }, ...page.items.map((r) => reviewItem(job, r))) : null);
  box.dataset.user = page.user_id;
  box.setAttribute('role', 'group');
  box.setAttribute('aria-labelledby', headingId);
  return box;
}

function reviewItem(job, r) {
  const glyphs = el('span', { className: 'stars', textContent: stars(r.rating) });
  glyphs.setAttribute('aria-hidden', 'true');
  const li = el('li', { className: 'review' },
    el('p', null, glyphs, ` ${plural(r.rating, 'star')} · by ${userName(r.author_id)}`
      + (r.job_id === job.id ? ' for this job' : '') + ` · ${new Date(r.created_at).toLocaleDateString()}`),
    r.comment ? el('p', { className: 'review-comment pre', textContent: r.comment }) : null);
  li.dataset.id = r.id;
  return li;
}

onSubmit($('#review-form'), async (fields, form) => {
  const { job } = state.job;
  await post(`review:${job.id}`, `/jobs/${enc(job.id)}/reviews`,
    { rating: Number(fields.rating), comment: fields.comment.trim() });
  form.reset();
  await reload();
});
