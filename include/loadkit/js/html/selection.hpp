#pragma once
// k6/html's JavaScript, second part (modules/html.hpp joins the parts): URLs
// as Go resolves them, form values, and the Selection class (k6's jQuery-like
// API over goquery).
#include <string_view>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::html {

inline constexpr std::string_view selection_javascript = R"JS(
// --- URLs: Go's net/url Parse, ResolveReference and String, as k6 resolves
// links and form actions (RFC 3986) ---
function parseURL(s) {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(String(s));
  return { scheme: m[1] ? m[1].toLowerCase() : '', auth: m[2], path: m[3] || '', query: m[4], fragment: m[5] };
}
function removeDots(path) {
  const out = [];
  const segs = path.split('/');
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === '..') { if (out.length > 1) out.pop(); if (i === segs.length - 1) out.push(''); }
    else if (seg === '.') { if (i === segs.length - 1) out.push(''); }
    else out.push(seg);
  }
  let r = out.join('/');
  if (path.startsWith('/') && !r.startsWith('/')) r = '/' + r;
  return r;
}
function formatURL(u) {
  let s = u.scheme ? u.scheme + ':' : '';
  if (u.auth !== undefined) s += '//' + u.auth;
  s += u.path;
  if (u.query !== undefined) s += '?' + u.query;
  if (u.fragment !== undefined) s += '#' + u.fragment;
  return s;
}
function resolveURL(base, ref) {
  const b = parseURL(base), r = parseURL(ref);
  let t;
  if (r.scheme) t = { scheme: r.scheme, auth: r.auth, path: removeDots(r.path), query: r.query };
  else if (r.auth !== undefined) t = { scheme: b.scheme, auth: r.auth, path: removeDots(r.path), query: r.query };
  else if (r.path === '') t = { scheme: b.scheme, auth: b.auth, path: b.path, query: r.query !== undefined ? r.query : b.query };
  else {
    let path = r.path;
    if (!path.startsWith('/')) path = (b.auth !== undefined && b.path === '' ? '/' : b.path.slice(0, b.path.lastIndexOf('/') + 1)) + path;
    t = { scheme: b.scheme, auth: b.auth, path: removeDots(path), query: r.query };
  }
  t.fragment = r.fragment;
  return formatURL(t);
}
// Go's url.QueryEscape: space as '+', only A-Z a-z 0-9 - _ . ~ kept.
function queryEscape(s) {
  let e;
  try { e = encodeURIComponent(s); } catch (_) { e = encodeURIComponent(String(s).replace(/[\uD800-\uDFFF]/g, '\uFFFD')); }
  return e.replace(/%20/g, '+').replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
// Go's url.Values.Encode of [[name, [values]], ...]: sorted by name.
function encodeValues(pairs) {
  const by = new Map();
  for (const [k, vs] of pairs) { if (!by.has(k)) by.set(k, []); by.get(k).push(...vs); }
  const out = [];
  for (const k of [...by.keys()].sort()) for (const v of by.get(k)) out.push(queryEscape(k) + '=' + queryEscape(v));
  return out.join('&');
}

// --- Selection: k6's (goquery's) jQuery-like API ---
const NODES = Symbol('nodes'), PREV = Symbol('prev'), DOC = Symbol('doc');
// Nodes in order, without repeats.
function unique(list) {
  const seen = new Set(), out = [];
  for (const n of list) if (!seen.has(n)) { seen.add(n); out.push(n); }
  return out;
}
function select(from, nodes) {
  const s = new Selection(nodes, from[DOC], from.url);
  s[PREV] = from;
  return s;
}
function nodesOf(v) {
  if (v instanceof Selection) return v[NODES];
  if (v instanceof Element) return [v[NODE]];
  return null;
}
// What the functions of filter(), not(), is() get: (index, Selection of the node).
function functionMatcher(s, fn) {
  return (n, i) => !!fn.call(undefined, i, new Selection([n], s[DOC], s.url));
}
// A selector string, a Selection, an Element or (where allowed) a function, as a predicate.
function predicate(s, what, arg, functions) {
  if (typeof arg === 'string') { const m = matcher(arg); return n => m(n); }
  const nodes = nodesOf(arg);
  if (nodes) { const set = new Set(nodes); return n => set.has(n); }
  if (functions && typeof arg === 'function') return functionMatcher(s, arg);
  throw new TypeError('the argument to ' + what + '() must be ' + (functions ? 'a function, ' : '') + 'a selector, a Selection or an Element');
}
function findIn(s, m) {
  const out = [];
  const seen = new Set();
  for (const n of s[NODES]) eachDescendant(n, c => { if (c.t === 1 && !seen.has(c) && m(c)) { seen.add(c); out.push(c); } });
  return out;
}
function collect(s, step, filter, until) {
  const m = filter === undefined || filter === null ? null : matcher(filter);
  const out = [];
  for (const n of s[NODES])
    for (let x = step(n); x; x = step(x)) {
      if (until && until(x)) break;
      if (!m || m(x)) out.push(x);
    }
  return unique(out);
}
function untilPredicate(s, arg) {
  if (arg === undefined || arg === null || arg === '') return null;
  return predicate(s, 'until', arg, false);
}
// The value of a form element, as k6's val().
function valueOf(n) {
  if (!n || n.t !== 1) return undefined;
  switch (n.name) {
    case 'input': {
      const v = attrOf(n, 'value');
      if (v !== undefined) return v;
      const type = attrOf(n, 'type');
      return type === 'radio' || type === 'checkbox' ? 'on' : '';
    }
    case 'button': { const v = attrOf(n, 'value'); return v === undefined ? '' : v; }
    case 'textarea': return innerHTML(n);
    case 'option': return valueOrHTML(n);
    case 'select': {
      const selected = [];
      eachDescendant(n, c => { if (c.t === 1 && c.name === 'option' && hasAttr(c, 'selected')) selected.push(c); });
      if (hasAttr(n, 'multiple')) return selected.map(valueOrHTML);
      return selected.length ? valueOrHTML(selected[0]) : '';
    }
  }
  return undefined;
}
function valueOrHTML(n) {
  const v = attrOf(n, 'value');
  return v !== undefined ? v : innerHTML(n);
}
// data-* attributes: names as k6 gives them (user-id -> userID: Go's
// initialisms), values as numbers, booleans, JSON or strings.
const INITIALISMS = new Set(['ACL', 'API', 'ASCII', 'CPU', 'CSS', 'DNS', 'EOF', 'GUID', 'HTML', 'HTTP', 'HTTPS', 'ID', 'IP', 'JSON', 'LHS', 'QPS', 'RAM', 'RHS', 'RPC', 'SLA', 'SMTP', 'SQL', 'SSH', 'TCP', 'TLS', 'TTL', 'UDP', 'UI', 'UID', 'UUID', 'URI', 'URL', 'UTF8', 'VM', 'XML', 'XMPP', 'XSRF', 'XSS']);
function dataProperty(name) {
  const i = name.indexOf('-');
  if (i < 0) return name;
  return name.slice(0, i) + name.slice(i + 1).split('-').map(w => {
    const up = w.toUpperCase();
    return INITIALISMS.has(up) ? up : w.charAt(0).toUpperCase() + w.slice(1);
  }).join('');
}
function dataAttribute(prop) {
  return String(prop).replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();
}
function dataValue(v) {
  if (v === '') return undefined;
  if (v[0] === '{' || v[0] === '[') { try { return JSON.parse(v); } catch (_) { return v; } }
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null' || v === 'undefined') return undefined;
  // a number only when it prints back the same (101.00 and 1E02 stay strings)
  if (/^-?\d+(\.\d+)?$/.test(v)) { const f = Number(v); if (String(f) === v && Math.abs(f) < 1e21) return f; }
  return v;
}
// What serialize*() send: named, enabled, non-button fields, checked boxes only.
function formFields(s) {
  const submittable = matcher('input,select,textarea,keygen');
  const first = s[NODES][0];
  const isForm = s[NODES].some(n => n.t === 1 && n.name === 'form');
  const candidates = isForm ? findIn(s, submittable) : s[NODES].filter(submittable);
  void first;
  return candidates.filter(n => {
    const name = attrOf(n, 'name') || '', type = attrOf(n, 'type') || '', checked = attrOf(n, 'checked') || '';
    return name !== '' && attrOf(n, 'disabled') !== 'disabled' && !['submit', 'button', 'reset', 'image', 'file'].includes(type) &&
      (checked === 'checked' || (type !== 'checkbox' && type !== 'radio'));
  }).map(n => ({ name: attrOf(n, 'name'), value: valueOf(n) }));
}

class Selection {
  constructor(nodes, doc, url) {
    Object.defineProperty(this, NODES, { value: nodes });
    Object.defineProperty(this, DOC, { value: doc });
    Object.defineProperty(this, PREV, { value: null, writable: true });
    this.url = url === undefined ? '' : url;
  }
  size() { return this[NODES].length; }
  find(sel) {
    if (typeof sel === 'string') return select(this, findIn(this, matcher(sel)));
    const nodes = nodesOf(sel);
    if (!nodes) throw new TypeError('invalid argument, cannot use a ' + typeof sel + ' as a selector');
    // the given nodes that are descendants of this selection's
    return select(this, nodes.filter(n => this[NODES].some(a => { for (let p = n.parent; p; p = p.parent) if (p === a) return true; return false; })));
  }
  text() { return this[NODES].map(textOf).join(''); }
  html() { return this[NODES].length ? innerHTML(this[NODES][0]) : ''; }
  attr(name, def) {
    const n = this[NODES][0];
    const v = n ? attrOf(n, String(name)) : undefined;
    return v !== undefined ? v : def;
  }
  val() { return valueOf(this[NODES][0]); }
  first() { return select(this, this[NODES].slice(0, 1)); }
  last() { return select(this, this[NODES].slice(-1)); }
  eq(i) {
    const n = this[NODES].length;
    i = Math.trunc(Number(i)) || 0;
    if (i < 0) i += n;
    return select(this, i >= 0 && i < n ? [this[NODES][i]] : []);
  }
  slice(start, end) {
    const n = this[NODES].length;
    start = Math.trunc(Number(start)) || 0;
    end = end === undefined || Number(end) >= n ? n : Math.trunc(Number(end)) || 0;
    if (start < 0) start += n;
    if (end < 0) end += n;
    return select(this, this[NODES].slice(Math.max(0, start), Math.max(0, end)));
  }
  get(i) {
    if (i === undefined) return this[NODES].map(n => elementOf(n, this));
    const n = this[NODES].length;
    i = Math.trunc(Number(i)) || 0;
    if (i >= n || i <= -n) return undefined;
    return elementOf(this[NODES][i < 0 ? i + n : i], this);
  }
  toArray() { return this[NODES].map(n => new Selection([n], this[DOC], this.url)); }
  each(fn) {
    if (typeof fn !== 'function') throw new TypeError('the argument to each() must be a function');
    this[NODES].forEach((n, i) => { fn(i, elementOf(n, this)); });
    return this;
  }
  // k6 leaves out the values of calls that throw; loadkit lets the error through.
  map(fn) {
    if (typeof fn !== 'function') throw new TypeError('the argument to map() must be a function');
    return this[NODES].map((n, i) => fn(i, new Selection([n], this[DOC], this.url)));
  }
  filter(arg) {
    const p = predicate(this, 'filter', arg, true);
    return select(this, this[NODES].filter((n, i) => p(n, i)));
  }
  not(arg) {
    const p = predicate(this, 'not', arg, true);
    return select(this, this[NODES].filter((n, i) => !p(n, i)));
  }
  is(arg) {
    const p = predicate(this, 'is', arg, true);
    return this[NODES].some((n, i) => p(n, i));
  }
  has(arg) {
    const p = predicate(this, 'has', arg, false);
    return select(this, this[NODES].filter(n => { let found = false; eachDescendant(n, c => { if (!found && c.t === 1 && p(c)) found = true; }); return found; }));
  }
  children(sel) {
    const m = sel === undefined ? null : matcher(sel);
    const out = [];
    for (const n of this[NODES]) for (const c of n.kids) if (c.t === 1 && (!m || m(c))) out.push(c);
    return select(this, unique(out));
  }
  contents() {
    const out = [];
    for (const n of this[NODES]) out.push(...n.kids);
    return select(this, unique(out));
  }
  parent(sel) {
    const m = sel === undefined ? null : matcher(sel);
    return select(this, unique(this[NODES].map(parentEl).filter(p => p && (!m || m(p)))));
  }
  parents(sel) { return select(this, collect(this, parentEl, sel)); }
  parentsUntil(until, filter) { return select(this, collect(this, parentEl, filter, untilPredicate(this, until))); }
  closest(arg) {
    const p = predicate(this, 'closest', arg, false);
    const out = [];
    for (const n of this[NODES]) for (let x = n; x && x.t === 1; x = x.parent) if (p(x)) { out.push(x); break; }
    return select(this, unique(out));
  }
  next(sel) { return select(this, unique(this[NODES].map(nextEl).filter(x => x && (sel === undefined || matcher(sel)(x))))); }
  nextAll(sel) { return select(this, collect(this, nextEl, sel)); }
  nextUntil(until, filter) { return select(this, collect(this, nextEl, filter, untilPredicate(this, until))); }
  prev(sel) { return select(this, unique(this[NODES].map(prevEl).filter(x => x && (sel === undefined || matcher(sel)(x))))); }
  prevAll(sel) { return select(this, collect(this, prevEl, sel)); }
  prevUntil(until, filter) { return select(this, collect(this, prevEl, filter, untilPredicate(this, until))); }
  siblings(sel) {
    const m = sel === undefined ? null : matcher(sel);
    const out = [];
    for (const n of this[NODES]) if (n.parent) for (const c of n.parent.kids) if (c !== n && c.t === 1 && (!m || m(c))) out.push(c);
    return select(this, unique(out));
  }
  add(arg) {
    let nodes = nodesOf(arg);
    if (!nodes) {
      if (typeof arg !== 'string') throw new TypeError('invalid argument, cannot use a ' + typeof arg + ' as a selector');
      nodes = findIn(new Selection([this[DOC]], this[DOC], this.url), matcher(arg));
    }
    return select(this, unique(this[NODES].concat(nodes)));
  }
  end() { return this[PREV] || new Selection([], this[DOC], this.url); }
  index(arg) {
    const nodes = this[NODES];
    if (arg === undefined) {
      if (!nodes.length) return -1;
      let i = 0;
      for (let x = prevEl(nodes[0]); x; x = prevEl(x)) i++;
      return i;
    }
    if (typeof arg === 'string') {
      if (!nodes.length) return -1;
      return findIn(new Selection([this[DOC]], this[DOC], this.url), matcher(arg)).indexOf(nodes[0]);
    }
    const other = nodesOf(arg);
    return other && other.length ? nodes.indexOf(other[0]) : -1;
  }
  data(key) {
    const n = this[NODES][0];
    if (!n || !n.attrs || n.attrs.length === 0) return undefined;
    if (key !== undefined) { const v = attrOf(n, 'data-' + dataAttribute(key)); return v === undefined ? undefined : dataValue(v); }
    const out = {};
    for (let i = 0; i < n.attrs.length; i += 2) {
      const k = n.attrs[i];
      if (k.startsWith('data-') && k.length > 5) out[dataProperty(k.slice(5))] = dataValue(n.attrs[i + 1]);
    }
    return out;
  }
  serializeArray() { return formFields(this); }
  serializeObject() {
    const out = {};
    for (const f of formFields(this)) out[f.name] = f.value;
    return out;
  }
  serialize() {
    // as Go's url.Values: the last field of a name wins, a multiple select's values are all kept
    const by = new Map();
    for (const f of formFields(this)) by.set(f.name, Array.isArray(f.value) ? f.value.map(String) : [String(f.value)]);
    return encodeValues([...by.entries()]);
  }
}
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::html
