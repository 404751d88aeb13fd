// Form limits from the API's own OpenAPI document (GET /api/v1/openapi.json, no
// token needed), so a form never allows what the hub refuses, nor refuses what it
// allows, and a hub configured otherwise (HUB_MAX_TEXT_LENGTH, say) is followed.
//
// Every input or textarea with data-schema="Schema.field" (the component schema
// and the property its value is sent as) gets maxlength / minlength from the
// property's maxLength / minLength and min / max from minimum / maximum
// (exclusiveMinimum / exclusiveMaximum of an integer count as the next integer).
// This runs once the document is here, and then for every such input added to the
// page or renamed later (a MutationObserver), so the forms other modules build
// get their limits too. The static attributes in index.html stay as a fallback
// for the moment before the document arrives (the hub checks again anyway: its 422
// shows next to the field).
//
// - "Schema.field[]": the input holds one item of an array field (the items' limits);
//   "Schema.a.b": a nested object's field.
// - $ref and anyOf [X, null] (an optional field) are followed.
// - x-hub-trimmed-max-length (a setting the hub counts after trimming, such as a
//   message's HUB_MAX_TEXT_LENGTH) wins over maxLength, which only bounds the raw
//   request.
// - Money (data-money on the input): the schema's minimum / maximum are integer
//   minor units, the input takes the currency's decimals. min / max / step are
//   divided by 10^digits of the currency (ui.js minorDigits): the currency is the
//   input's data-currency, or else its form's `currency` field, and the limits are
//   applied again when either changes. With no currency known, min / max are left as
//   they are and the hub's 422 says what is wrong.
import { minorDigits } from './ui.js';

const DOCUMENT = '/api/v1/openapi.json';
let schemas = null;
let loading = null;

// Fetches the document once (app.js calls it at start-up) and applies the limits.
export function loadLimits() {
  if (!loading) {
    loading = fetch(DOCUMENT)
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`${DOCUMENT}: ${res.status}`))))
      .then((doc) => {
        schemas = (doc.components && doc.components.schemas) || {};
        applyLimits(document);
        watch();
        document.documentElement.dataset.limits = 'applied';  // for the tests to wait on
      })
      .catch((err) => console.warn('form limits unavailable: the hub will check the values', err));
  }
  return loading;
}

// Applies the limits to every [data-schema] control in root (and root itself).
export function applyLimits(root) {
  if (!schemas || !root.querySelectorAll) return;
  if (root.matches && root.matches('[data-schema]')) applyTo(root);
  for (const input of root.querySelectorAll('[data-schema]')) applyTo(input);
}

// The property schema a data-schema value names, or null.
export function fieldSchema(name) {
  if (!schemas || !name) return null;
  const [schemaName, ...path] = name.split('.');
  let node = resolve(schemas[schemaName]);
  for (const part of path) {
    const item = part.endsWith('[]');
    node = resolve(node && node.properties && node.properties[item ? part.slice(0, -2) : part]);
    if (item) node = resolve(node && node.items);
    if (!node) return null;
  }
  return path.length ? node : null;
}

// $ref and anyOf/oneOf [X, null] replaced by X (keeping the outer keywords).
function resolve(node) {
  for (let depth = 0; node && depth < 8; depth++) {
    if (node.$ref) {
      const { $ref, ...rest } = node;
      node = { ...schemas[$ref.split('/').pop()], ...rest };
      continue;
    }
    const options = (node.anyOf || node.oneOf || []).filter((option) => option.type !== 'null');
    if (options.length !== 1) return node;
    const { anyOf, oneOf, ...rest } = node;
    node = { ...rest, ...options[0] };
  }
  return node || null;
}

function applyTo(input) {
  const prop = fieldSchema(input.dataset.schema);
  if (!prop) { console.warn(`data-schema="${input.dataset.schema}": no such field in the API document`); return; }
  const maxLength = prop['x-hub-trimmed-max-length'] ?? prop.maxLength;
  set(input, 'maxlength', maxLength);
  set(input, 'minlength', prop.minLength);
  let min = prop.minimum ?? (prop.exclusiveMinimum != null && prop.type === 'integer' ? prop.exclusiveMinimum + 1 : undefined);
  let max = prop.maximum ?? (prop.exclusiveMaximum != null && prop.type === 'integer' ? prop.exclusiveMaximum - 1 : undefined);
  if ('money' in input.dataset) {
    const currency = currencyOf(input);
    if (!currency) return;
    const scale = 10 ** minorDigits(currency);
    min = min == null ? undefined : min / scale;
    max = max == null ? undefined : max / scale;
    input.step = String(1 / scale);
  }
  set(input, 'min', min);
  set(input, 'max', max);
}

function set(input, attribute, value) {
  if (value != null) input.setAttribute(attribute, String(value));
}

function currencyOf(input) {
  if (input.dataset.currency) return input.dataset.currency;
  const field = input.form && input.form.elements.namedItem('currency');
  return field && field.value ? field.value : null;
}

// Inputs added later, a data-schema or data-currency set later, a form's currency changed.
function watch() {
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'attributes') applyLimits(record.target);
      else for (const node of record.addedNodes) if (node.nodeType === 1) applyLimits(node);
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-schema', 'data-currency'] });
  document.addEventListener('change', (ev) => {
    const target = ev.target;
    if (target.name === 'currency' && target.form) {
      for (const input of target.form.querySelectorAll('[data-schema][data-money]')) applyTo(input);
    }
  });
}
