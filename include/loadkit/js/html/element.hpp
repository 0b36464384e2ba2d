#pragma once
// k6/html's JavaScript, last part (modules/html.hpp joins the parts): the
// Element classes (k6's DOM-like nodes), parseHTML, and res.html(),
// res.submitForm() and res.clickLink() on k6/http's Response.
#include <string_view>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::html {

inline constexpr std::string_view element_javascript = R"JS(
// --- Element: k6's DOM-like node objects, from get(), each() and the like ---
const NODE = Symbol('node'), SEL = Symbol('selection');
const NS_URI = ['http://www.w3.org/1999/xhtml', 'http://www.w3.org/2000/svg', 'http://www.w3.org/1998/Math/MathML'];
const NODE_NAMES = { 3: '#text', 8: '#comment', 9: '#document' };
const elementList = (nodes, from) => nodes.map(n => elementOf(n, from));
const maybeElement = (n, from) => (n ? elementOf(n, from) : undefined);
const docOf = n => { while (n.parent) n = n.parent; return n; };
function resolvedAttr(e, name, missing) {
  const v = attrOf(e[NODE], name);
  if (!e[SEL].url) return v === undefined ? '' : v;
  return v === undefined ? missing : resolveURL(e[SEL].url, v);
}
class Attribute {
  constructor(owner, name, value) { this.owner_element = owner; this.name = name; this.value = value; }
  prefix() { return ''; }
  namespaceURI() { return NS_URI[0]; }
  localName() { return this.name; }
}
class Element {
  constructor(node, sel) {
    Object.defineProperty(this, NODE, { value: node });
    Object.defineProperty(this, SEL, { value: sel });
  }
  nodeName() { const n = this[NODE]; return n.t === 1 ? n.name : n.t === 10 ? n.data : NODE_NAMES[n.t]; }
  nodeType() { return this[NODE].t; }
  nodeValue() { const n = this[NODE]; return n.t === 3 || n.t === 8 ? n.data : undefined; }
  textContent() { return textOf(this[NODE]); }
  innerHTML() { return innerHTML(this[NODE]); }
  id() { return attrOf(this[NODE], 'id') || ''; }
  className() { return attrOf(this[NODE], 'class'); }
  classList() { const c = attrOf(this[NODE], 'class'); return c === undefined ? null : c.split(/[ \t\n\r\f]+/).filter(Boolean); }
  lang() { return attrOf(this[NODE], 'lang'); }
  getAttribute(name) { return attrOf(this[NODE], String(name)); }
  getAttributeNode(name) { const v = attrOf(this[NODE], String(name)); return v === undefined ? undefined : new Attribute(this, String(name), v); }
  hasAttribute(name) { return hasAttr(this[NODE], String(name)); }
  hasAttributes() { return !!this[NODE].attrs && this[NODE].attrs.length > 0; }
  attributes() {
    const out = {}, a = this[NODE].attrs || [];
    for (let i = 0; i < a.length; i += 2) out[a[i]] = new Attribute(this, a[i], a[i + 1]);
    return out;
  }
  hasChildNodes() { return this[NODE].kids.length > 0; }
  childNodes() { return elementList(this[NODE].kids, this[SEL]); }
  children() { return elementList(elKids(this[NODE]), this[SEL]); }
  childElementCount() { return elKids(this[NODE]).length; }
  firstChild() { return maybeElement(this[NODE].kids[0], this[SEL]); }
  lastChild() { return maybeElement(this[NODE].kids[this[NODE].kids.length - 1], this[SEL]); }
  firstElementChild() { return maybeElement(elKids(this[NODE])[0], this[SEL]); }
  lastElementChild() { return maybeElement(elKids(this[NODE]).pop(), this[SEL]); }
  previousSibling() { const n = this[NODE]; return n.parent ? maybeElement(n.parent.kids[n.k - 1], this[SEL]) : undefined; }
  nextSibling() { const n = this[NODE]; return n.parent ? maybeElement(n.parent.kids[n.k + 1], this[SEL]) : undefined; }
  previousElementSibling() { return maybeElement(prevEl(this[NODE]), this[SEL]); }
  nextElementSibling() { return maybeElement(nextEl(this[NODE]), this[SEL]); }
  parentNode() { return maybeElement(this[NODE].parent, this[SEL]); }
  parentElement() { return maybeElement(parentEl(this[NODE]), this[SEL]); }
  ownerDocument() { return maybeElement(docOf(this[NODE]), this[SEL]); }
  namespaceURI() { return NS_URI[this[NODE].ns] || NS_URI[0]; }
  isDefaultNamespace() { return this[NODE].ns === 0; }
  // DOM's contains(): not true of the node itself
  contains(other) {
    if (!(other instanceof Element) || other[NODE] === this[NODE]) return false;
    for (let p = other[NODE].parent; p; p = p.parent) if (p === this[NODE]) return true;
    return false;
  }
  isSameNode(other) { return other instanceof Element && other[NODE] === this[NODE]; }
  isEqualNode(other) { return other instanceof Element && innerHTML(other[NODE]) === innerHTML(this[NODE]); }
  matches(selector) { return matcher(selector)(this[NODE]); }
  querySelector(selector) { return maybeElement(findIn(new Selection([this[NODE]], this[SEL][DOC]), matcher(selector))[0], this[SEL]); }
  querySelectorAll(selector) { return elementList(findIn(new Selection([this[NODE]], this[SEL][DOC]), matcher(selector)), this[SEL]); }
  getElementsByClassName(name) { return this.querySelectorAll('.' + name); }
  getElementsByTagName(name) { return this.querySelectorAll(name); }
  toString() { return this[NODE].t === 1 ? '[object html.Node]' : '[object ' + this.nodeName() + ']'; }
}
// Per-element methods, as k6's elements: a property read from its
// attribute. Kinds: s string ('' when missing), b present, i integer (with
// its default), u a URL resolved against the response's URL.
const ELEMENT_PROPS = {
  href: 'download:s referrerPolicy/referrerpolicy:s rel:s href:u target:s type:s accessKey/accesskey:s hrefLang/hreflang:s',
  media: 'autoplay:b controls:b loop:b muted:b preload:s src:u crossOrigin/crossorigin:s currentSrc/src:s defaultMuted/muted:b mediaGroup/mediagroup:s',
  base: 'href:u target:s',
  button: 'accessKey/accesskey:s autofocus:b disabled:b tabIndex/tabindex:i0',
  data: 'value:s', embed: 'height:s width:s src:s type:s', fieldset: 'disabled:b name:s',
  form: 'action:u name:s target:s acceptCharset/accept-charset:s autocomplete:s noValidate/novalidate:b',
  iframe: 'allowfullscreen:b referrerPolicy/referrerpolicy:s height:s width:s name:s src:u',
  img: 'currentSrc/src:u sizes:s srcset:s alt:s crossOrigin/crossorigin:s height:i0 width:i0 isMap/ismap:b name:s src:u useMap/usemap:s referrerPolicy/referrerpolicy:s',
  input: 'name:s tabIndex/tabindex:i0 disabled:b autofocus:b required:b value:s checked:b defaultChecked/checked:b alt:s src:u height:s width:s accept:s autocomplete:s maxLength/maxlength:i-1 size:i0 pattern:s placeholder:s readonly:b min:s max:s defaultValue/value:s dirName/dirname:s accessKey/accesskey:s multiple:b step:s',
  keygen: 'autofocus:b challenge:s disabled:b keytype:s name:s', label: 'htmlFor/for:s', legend: 'accessKey/accesskey:s', li: 'value:i0 type:s',
  link: 'crossOrigin/crossorigin:s referrerPolicy/referrerpolicy:s href:u hreflang:s media:s rel:s target:s type:s',
  map: 'name:s', meta: 'content:s name:s httpEquiv/http-equiv:s', meter: 'min:i0 max:i0 high:i0 low:i0 optimum:i0',
  mod: 'cite:s datetime:s', object: 'data:u height:s name:s type:s tabIndex/tabindex:i0 typeMustMatch/typemustmatch:b useMap/usemap:s width:s',
  ol: 'reversed:b start:i0 type:s', optgroup: 'disabled:b label:s', option: 'defaultSelected/selected:b selected:b',
  output: 'htmlFor/for:s name:s', param: 'name:s value:s', pre: 'name:s value:s', q: 'cite:s', blockquote: 'cite:s',
  script: 'crossOrigin/crossorigin:s type:s src:u charset:s async:b defer:b noModule/nomodule:b',
  select: 'autofocus:b disabled:b multiple:b name:s required:b tabIndex/tabindex:i0',
  source: 'keySystem/keysystem:s media:s sizes:s src:u srcset:s type:s', style: 'media:s', table: 'sortable:b',
  cell: 'colSpan/colspan:i1 rowSpan/rowspan:i1 headers:s', th: 'abbr:s scope:s sorted:b',
  textarea: 'value:s defaultValue/value:s placeholder:s rows:i0 cols:i0 maxLength/maxlength:i0 tabIndex/tabindex:i0 accessKey/accesskey:s readOnly/readonly:b required:b autocomplete:s wrap:s',
  time: 'datetime:s', track: 'kind:s src:u srclang:s label:s default:b', ul: 'type:s',
};
// Which groups of ELEMENT_PROPS (and of the methods below) each tag has.
const TAG_GROUPS = {
  a: ['href'], area: ['href'], audio: ['media', 'tracks'], video: ['media', 'tracks'], canvas: ['canvas'], datalist: ['datalist'], progress: ['progress'], base: ['base'], button: ['field', 'button'], data: ['data'],
  embed: ['embed'], fieldset: ['fieldset', 'owned', 'fieldsetList'], form: ['form'], iframe: ['iframe'], img: ['img'], input: ['field', 'input'], keygen: ['keygen', 'owned'],
  label: ['label', 'owned'], legend: ['legend', 'owned'], li: ['li'], link: ['link'], map: ['map', 'mapList'], meta: ['meta'], meter: ['meter'], del: ['mod'], ins: ['mod'],
  object: ['object', 'owned'], ol: ['ol'], optgroup: ['optgroup'], option: ['option'], output: ['output', 'owned'], param: ['param'], pre: ['pre'], q: ['q'],
  blockquote: ['blockquote'], script: ['script'], select: ['field', 'select'], source: ['source'], style: ['style'], table: ['table'],
  td: ['cell'], th: ['cell', 'th'], textarea: ['field', 'textarea'], time: ['time'], title: ['title'], track: ['track'], ul: ['ul'], tr: ['tr'],
  thead: ['section'], tbody: ['section'], tfoot: ['section'],
};
function urlParts(e) {
  const href = resolvedAttr(e, 'href', '');
  const u = parseURL(attrOf(e[NODE], 'href') === undefined ? '' : href);
  let host = u.auth === undefined ? '' : u.auth.slice(u.auth.lastIndexOf('@') + 1);
  const user = u.auth !== undefined && u.auth.includes('@') ? u.auth.slice(0, u.auth.lastIndexOf('@')) : undefined;
  const pm = /^(.*):(\d*)$/.exec(host);
  return { u, href, host, hostname: pm ? pm[1] : host, port: pm ? pm[2] : '', user };
}
const DEFAULT_PORTS = { http: '80', https: '443', ftp: '21' };
const ownerForm = e => {
  for (let p = e[NODE]; p; p = p.parent) if (p.t === 1 && p.name === 'form') return p;
  const id = attrOf(e[NODE], 'form');
  if (!id) return null;
  return findIn(new Selection([docOf(e[NODE])], null), matcher('#' + id))[0] || null;
};
const GROUP_METHODS = {
  href: {
    hash() { const f = urlParts(this).u.fragment; return f ? '#' + f : ''; },
    host() { const p = urlParts(this); return DEFAULT_PORTS[p.u.scheme] === p.port ? p.hostname : p.host; },
    hostname() { return urlParts(this).hostname; },
    port() { return urlParts(this).port; },
    username() { const p = urlParts(this); return p.user === undefined ? '' : decodeURIComponent(p.user.split(':')[0]); },
    password() { const p = urlParts(this); return p.user === undefined || !p.user.includes(':') ? '' : decodeURIComponent(p.user.slice(p.user.indexOf(':') + 1)); },
    origin() { const p = urlParts(this); return !p.u.scheme ? '' : p.u.scheme === 'file' ? p.href : p.u.scheme + '://' + p.host; },
    pathname() { return urlParts(this).u.path; },
    protocol() { const s = urlParts(this).u.scheme; return s === '' ? ':' : s; },
    search() { const q = urlParts(this).u.query; return q ? '?' + q : ''; },
    relList() { const r = attrOf(this[NODE], 'rel'); return r ? r.split(' ') : []; },
    text() { return this.textContent(); },
    toString() { return resolvedAttr(this, 'href', ''); },
  },
  field: {
    form() { return maybeElement(ownerForm(this), this[SEL]); },
    name() { return attrOf(this[NODE], 'name') || ''; },
    formAction() {
      const f = ownerForm(this), a = attrOf(this[NODE], 'formaction') !== undefined ? attrOf(this[NODE], 'formaction') : f ? attrOf(f, 'action') : undefined;
      if (!this[SEL].url) return a || '';
      return a ? resolveURL(this[SEL].url, a) : this[SEL].url;
    },
    formMethod() { const f = ownerForm(this), m = attrOf(this[NODE], 'formmethod') || (f && attrOf(f, 'method')) || ''; return m.toLowerCase() === 'post' ? 'post' : 'get'; },
    formEnctype() { const f = ownerForm(this), t = attrOf(this[NODE], 'formenctype') || (f && attrOf(f, 'enctype')) || ''; return t === 'multipart/form-data' || t === 'text/plain' ? t : 'application/x-www-form-urlencoded'; },
    labels() {
      const out = [];
      for (let p = this[NODE]; p; p = p.parent) if (p.t === 1 && p.name === 'label') { out.push(p); break; }
      const id = attrOf(this[NODE], 'id');
      if (id) for (const l of findIn(new Selection([docOf(this[NODE])], null), matcher('label'))) if (attrOf(l, 'for') === id && !out.includes(l)) out.push(l);
      return elementList(out, this[SEL]);
    },
  },
  button: { type() { const t = (attrOf(this[NODE], 'type') || '').toLowerCase(); return t === 'reset' || t === 'button' ? t : 'submit'; }, value() { return valueOrHTML(this[NODE]); } },
  input: {
    type() {
      const t = (attrOf(this[NODE], 'type') || '').toLowerCase();
      return /^(button|checkbox|color|date|datetime-local|email|file|hidden|image|month|number|password|radio|range|reset|search|submit|tel|text|time|url|week)$/.test(t) ? t : 'text';
    },
  },
  owned: { form() { return maybeElement(ownerForm(this), this[SEL]); } },
  form: {
    enctype() { const t = attrOf(this[NODE], 'enctype'); return t === 'multipart/form-data' || t === 'text/plain' ? t : 'application/x-www-form-urlencoded'; },
    encoding() { return this.enctype(); },
    method() { return attrOf(this[NODE], 'method') === 'post' ? 'post' : 'get'; },
    elements() { return this.querySelectorAll('input,select,button,textarea,fieldset'); },
    length() { return this.elements().length; },
  },
  select: {
    options() { return this.querySelectorAll('option'); },
    length() { return this.options().length; },
    selectedOptions() { return this.querySelectorAll('option[selected]'); },
    selectedIndex() { const all = findIn(new Selection([this[NODE]], null), matcher('option')); return all.findIndex(o => hasAttr(o, 'selected')); },
    size() { return hasAttr(this[NODE], 'multiple') ? 4 : 1; },
    type() { return hasAttr(this[NODE], 'multiple') ? 'select-multiple' : 'select'; },
    value() { const o = this.selectedOptions()[0]; return o ? valueOrHTML(o[NODE]) : ''; },
  },
  option: {
    disabled() { if (hasAttr(this[NODE], 'disabled')) return true; for (let p = this[NODE].parent; p; p = p.parent) if (p.t === 1 && p.name === 'optgroup') return hasAttr(p, 'disabled'); return false; },
    label() { const l = attrOf(this[NODE], 'label'); return l !== undefined ? l : this.textContent(); },
    text() { return this.textContent(); },
    value() { return valueOrHTML(this[NODE]); },
    form() {
      for (let p = this[NODE].parent; p; p = p.parent) if (p.t === 1 && p.name === 'form') return elementOf(p, this[SEL]);
      for (let p = this[NODE].parent; p; p = p.parent)
        if (p.t === 1 && p.name === 'select') { const id = attrOf(p, 'form'); return id ? maybeElement(findIn(new Selection([docOf(p)], null), matcher('form#' + id))[0], this[SEL]) : undefined; }
      return undefined;
    },
    index() {
      for (let p = this[NODE].parent; p; p = p.parent)
        if (p.t === 1 && (p.name === 'select' || p.name === 'datalist')) return findIn(new Selection([p], null), matcher('option')).indexOf(this[NODE]);
      return 0;
    },
  },
  textarea: { type() { return 'textarea'; }, length() { return (attrOf(this[NODE], 'value') || '').length; } },
  title: { text() { return this.textContent(); } },
  script: { text() { return this.textContent(); } },
  label: { control() { const f = attrOf(this[NODE], 'for'); return f === undefined ? undefined : maybeElement(findIn(new Selection([docOf(this[NODE])], null), matcher('#' + f))[0], this[SEL]); } },
  table: {
    caption() { return maybeElement(elKids(this[NODE]).find(c => c.name === 'caption'), this[SEL]); },
    tHead() { return maybeElement(elKids(this[NODE]).find(c => c.name === 'thead'), this[SEL]); },
    tFoot() { return maybeElement(elKids(this[NODE]).find(c => c.name === 'tfoot'), this[SEL]); },
    tBodies() { return elementList(elKids(this[NODE]).filter(c => c.name === 'tbody'), this[SEL]); },
    rows() { return this.querySelectorAll('tr'); },
  },
  section: { rows() { return this.querySelectorAll('tr'); } },
  tr: {
    cells() { return this.querySelectorAll('th,td'); },
    rowIndex() { for (let p = this[NODE].parent; p; p = p.parent) if (p.t === 1 && p.name === 'table') return findIn(new Selection([p], null), matcher('tr')).indexOf(this[NODE]); return -1; },
  },
  style: { type() { return attrOf(this[NODE], 'type') || 'text/css'; } },
  canvas: { width() { return intAttr(this[NODE], 'width', 150); }, height() { return intAttr(this[NODE], 'height', 150); } },
  datalist: { options() { return this.querySelectorAll('option'); } },
  fieldsetList: { type() { return 'fieldset'; }, elements() { return this.querySelectorAll('input,select,button,textarea'); }, validity() { return undefined; } },
  mapList: { areas() { return this.querySelectorAll('area'); } },
  tracks: { textTracks() { return this.querySelectorAll('track'); } },
  progress: {
    max() { const v = parseFloat(attrOf(this[NODE], 'max')); return Number.isNaN(v) || v < 0 ? 1 : v; },
    value() { const v = parseFloat(attrOf(this[NODE], 'value')); return Number.isNaN(v) || v < 0 ? 0 : v / this.max(); },
    position() { const v = parseFloat(attrOf(this[NODE], 'value')); return Number.isNaN(v) || v < 0 ? -1 : v / this.max(); },
  },
};
function intAttr(n, name, def) {
  const v = attrOf(n, name);
  return v !== undefined && /^[+-]?\d+$/.test(v.trim()) ? parseInt(v, 10) : def;
}
// One class per tag that has methods of its own, made on first use.
const elementClasses = new Map();
function propertyMethod(spec) {
  const [names, kind] = spec.split(':');
  const [method, attr] = names.includes('/') ? names.split('/') : [names, names];
  if (kind === 's') return [method, function () { const v = attrOf(this[NODE], attr); return v === undefined ? '' : v; }];
  if (kind === 'b') return [method, function () { return hasAttr(this[NODE], attr); }];
  if (kind === 'u') return [method, function () { return resolvedAttr(this, attr, ''); }];
  const def = Number(kind.slice(1));
  return [method, function () { const v = attrOf(this[NODE], attr); return v !== undefined && /^[+-]?\d+$/.test(v.trim()) ? parseInt(v, 10) : def; }];
}
function classOf(tag) {
  let C = elementClasses.get(tag);
  if (C) return C;
  C = class extends Element {};
  for (const group of TAG_GROUPS[tag]) {
    if (ELEMENT_PROPS[group]) for (const spec of ELEMENT_PROPS[group].split(' ')) { const [m, f] = propertyMethod(spec); C.prototype[m] = f; }
    if (GROUP_METHODS[group]) for (const m of Object.keys(GROUP_METHODS[group])) C.prototype[m] = GROUP_METHODS[group][m];
  }
  elementClasses.set(tag, C);
  return C;
}
function elementOf(n, sel) {
  const C = n.t === 1 && n.ns === 0 && Object.prototype.hasOwnProperty.call(TAG_GROUPS, n.name) ? classOf(n.name) : Element;
  return new C(n, sel);
}

// --- parseHTML, res.html(), res.submitForm(), res.clickLink() ---
function parseHTML(src) {
  const doc = buildDocument(lk.parseHTML(src === undefined || src === null ? '' : src));
  return new Selection([doc], doc, '');
}
function responseHTML(res, selector) {
  if (res.body === null || res.body === undefined)
    throw new Error("the body is null so we can't transform it to HTML - this likely was because of a request error getting the response");
  const doc = buildDocument(lk.parseHTML(res.body));
  const sel = new Selection([doc], doc, res.url);
  return selector === undefined ? sel : sel.find(selector);
}
function submitForm(res, args) {
  args = args || {};
  const formSelector = args.formSelector !== undefined ? String(args.formSelector) : 'form';
  const submitSelector = args.submitSelector !== undefined ? String(args.submitSelector) : '[type="submit"]';
  const form = responseHTML(res, formSelector);
  if (form.size() === 0) throw new Error("no form found for selector '" + formSelector + "' in response '" + res.url + "'");
  const methodAttr = form.attr('method');
  const method = methodAttr === undefined ? 'GET' : methodAttr.toUpperCase();
  const action = form.attr('action');
  let url = action === undefined ? res.url : resolveURL(res.url, action);
  const values = form.serializeObject();
  const submit = form.find(submitSelector);
  const submitName = submit.attr('name'), submitValue = submit.val();
  if (submitName !== undefined && submitValue !== undefined) values[submitName] = submitValue;
  if (args.fields && typeof args.fields === 'object') Object.assign(values, args.fields);
  const params = args.params === undefined ? null : args.params;
  if (method === 'GET') {
    const u = parseURL(url);
    u.query = encodeValues(Object.keys(values).map(k => [k, [String(values[k])]]));
    return http.request('GET', formatURL(u), null, params);
  }
  return http.request(method, url, values, params);
}
function clickLink(res, args) {
  args = args || {};
  const selector = args.selector !== undefined ? String(args.selector) : 'a[href]';
  const link = responseHTML(res, selector);
  if (link.size() === 0) throw new Error("no element found for selector '" + selector + "' in response '" + res.url + "'");
  const href = link.attr('href');
  if (href === undefined) throw new Error("no valid href attribute value found on element '" + selector + "' in response '" + res.url + "'");
  return http.request('GET', resolveURL(res.url, href), undefined, args.params === undefined ? null : args.params);
}
// k6/http's Response (modules/http.hpp) gets its HTML methods here.
for (const [name, value] of Object.entries({
  html(selector) { return responseHTML(this, selector); },
  submitForm(args) { return submitForm(this, args); },
  clickLink(args) { return clickLink(this, args); },
})) Object.defineProperty(Response.prototype, name, { value, writable: true, configurable: true, enumerable: false });
const api = { parseHTML };
return Object.assign({ default: api }, api);
})();
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::html
