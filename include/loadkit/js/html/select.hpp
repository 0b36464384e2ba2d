#pragma once
// k6/html's JavaScript, first part (modules/html.hpp joins the parts): the
// document's nodes from the parser's array (parse.hpp), serialising them as
// k6 does (Go's html.Render), and CSS selectors as k6's matcher (cascadia)
// parses and matches them, written here and tested against k6's results.
#include <string_view>

#include "../../core/config.hpp"

namespace loadkit::inline LOADKIT_ABI::js::detail::html {

inline constexpr std::string_view select_javascript = R"JS(
// k6/html (modules/html.hpp): one scope, so that only k6html is a name of the prelude's.
const k6html = (() => {
// --- The document: nodes from the parser's flat array (html/parse.hpp) ---
// A node: t (1 element, 3 text, 8 comment, 9 document, 10 doctype), name
// (elements), attrs ([k, v, ...]), data (text, comment, doctype name),
// parent, kids, k (its index in parent.kids), ns (0 HTML, 1 SVG, 2 MathML),
// and the positions that position() numbers.
function buildDocument(json) {
  const rows = JSON.parse(json), nodes = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const n = { t: r[0], name: '', attrs: null, data: '', parent: null, kids: [], k: 0, ns: 0, pos: 0, posType: 0, positions: undefined };
    if (r[0] === 1) { n.name = r[2]; n.attrs = r[3]; n.ns = r[4]; }
    else if (r[0] !== 9) n.data = r[2];
    if (i) { const p = nodes[r[1]]; n.parent = p; n.k = p.kids.length; p.kids.push(n); }
    nodes[i] = n;
  }
  return nodes[0];
}
const isEl = n => n.t === 1;
function attrOf(n, name) {
  const a = n.attrs;
  if (a) for (let i = 0; i < a.length; i += 2) if (a[i] === name) return a[i + 1];
  return undefined;
}
const hasAttr = (n, name) => attrOf(n, name) !== undefined;
const parentEl = n => (n.parent && n.parent.t === 1 ? n.parent : null);
function prevEl(n) {
  const p = n.parent;
  if (p) for (let i = n.k - 1; i >= 0; i--) if (p.kids[i].t === 1) return p.kids[i];
  return null;
}
function nextEl(n) {
  const p = n.parent;
  if (p) for (let i = n.k + 1; i < p.kids.length; i++) if (p.kids[i].t === 1) return p.kids[i];
  return null;
}
const elKids = n => n.kids.filter(isEl);
// Every descendant of n in document order, without recursion (deep documents).
function eachDescendant(n, fn) {
  const stack = [];
  for (let i = n.kids.length - 1; i >= 0; i--) stack.push(n.kids[i]);
  while (stack.length) {
    const c = stack.pop();
    fn(c);
    for (let i = c.kids.length - 1; i >= 0; i--) stack.push(c.kids[i]);
  }
}
// The text of n's text nodes (goquery's Text): comments are not text.
function textOf(n) {
  if (n.t === 3) return n.data;
  let s = '';
  eachDescendant(n, c => { if (c.t === 3) s += c.data; });
  return s;
}
function ownText(n) {
  let s = '';
  for (const c of n.kids) if (c.t === 3) s += c.data;
  return s;
}

// --- Serialising, as golang.org/x/net/html's Render (what k6's html() returns) ---
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const RAW_TEXT = new Set(['iframe', 'noembed', 'noframes', 'noscript', 'plaintext', 'script', 'style', 'xmp']);
const ESC = { '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\r': '&#13;' };
const escapeHTML = s => s.replace(/[&'<>"\r]/g, c => ESC[c]);
// n as HTML; a text node is escaped unless its parent element takes raw text.
function render(n) {
  let out = '';
  // [node, closing]: a node to open, or an element to close
  const stack = [[n, false]];
  while (stack.length) {
    const [c, closing] = stack.pop();
    if (closing) { out += '</' + c.name + '>'; continue; }
    switch (c.t) {
      case 3: out += c !== n && c.parent && c.parent.t === 1 && c.parent.ns === 0 && RAW_TEXT.has(c.parent.name) ? c.data : escapeHTML(c.data); break;
      case 8: out += '<!--' + c.data + '-->'; break;
      case 10: out += '<!DOCTYPE ' + c.data + '>'; break;
      case 9: for (let i = c.kids.length - 1; i >= 0; i--) stack.push([c.kids[i], false]); break;
      case 1: {
        out += '<' + c.name;
        for (let i = 0; i < c.attrs.length; i += 2) out += ' ' + c.attrs[i] + '="' + escapeHTML(c.attrs[i + 1]) + '"';
        if (VOID.has(c.name) && c.ns === 0) { out += '/>'; break; }
        out += '>';
        const first = c.kids[0];
        if (first && first.t === 3 && first.data[0] === '\n' && (c.name === 'pre' || c.name === 'listing' || c.name === 'textarea')) out += '\n';
        stack.push([c, true]);
        for (let i = c.kids.length - 1; i >= 0; i--) stack.push([c.kids[i], false]);
        break;
      }
    }
  }
  return out;
}
function innerHTML(n) {
  let s = '';
  for (const c of n.kids) s += render(c);
  return s;
}

// --- CSS selectors, as cascadia (the matcher k6 uses through goquery) ---
// A group is a list of complex selectors; a complex selector is compounds
// [c0, ..., cm] joined by combinators (' ', '>', '+', '~'), matched from the
// right. A selector that does not parse matches nothing, as in k6.
class SelectorError extends Error {}
function parseSelector(text) {
  const s = String(text);
  let i = 0;
  const fail = why => { throw new SelectorError('bad selector ' + JSON.stringify(s) + ' at ' + i + ': ' + why); };
  const ws = () => { let any = false; while (i < s.length && /[ \t\n\r\f]/.test(s[i])) { i++; any = true; } return any; };
  const isNameChar = c => /[-_a-zA-Z0-9]/.test(c) || c.charCodeAt(0) >= 0x80 || c === '\\';
  function ident() {
    let out = '';
    if (s[i] === '-') { out += '-'; i++; }
    if (i >= s.length || !(isNameChar(s[i]) && !/[0-9-]/.test(s[i]))) fail('expected a name');
    while (i < s.length && isNameChar(s[i])) {
      if (s[i] === '\\') {
        i++;
        const hex = /^[0-9a-fA-F]{1,6}/.exec(s.slice(i));
        if (hex) { out += String.fromCodePoint(parseInt(hex[0], 16)); i += hex[0].length; if (/[ \t\n]/.test(s[i] || '')) i++; }
        else if (i < s.length) out += s[i++];
        else fail('an escape at the end');
      } else out += s[i++];
    }
    return out;
  }
  function string() {
    const q = s[i++];
    let out = '';
    while (i < s.length && s[i] !== q) {
      if (s[i] === '\\') { i++; if (i < s.length) out += s[i++]; }
      else out += s[i++];
    }
    if (s[i] !== q) fail('an unterminated string');
    i++;
    return out;
  }
  const stringOrIdent = () => (s[i] === '"' || s[i] === "'" ? string() : ident());
  // The text up to the closing parenthesis (a regular expression's source).
  function balanced() {
    let depth = 1, start = i;
    for (; i < s.length; i++) {
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) return s.slice(start, i).trim();
      else if (s[i] === '\\') i++;
    }
    fail('an unclosed (');
  }
  function nth() {
    const m = /^\s*(?:(odd)|(even)|([+-]?\d*)n\s*(?:([+-])\s*(\d+))?|([+-]?\d+))\s*(?=\))/i.exec(s.slice(i));
    if (!m) fail('expected an+b');
    i += m[0].length;
    if (m[1]) return [2, 1];
    if (m[2]) return [2, 0];
    if (m[6] !== undefined) return [0, parseInt(m[6], 10)];
    const a = m[3] === '' || m[3] === '+' ? 1 : m[3] === '-' ? -1 : parseInt(m[3], 10);
    const b = m[5] ? (m[4] === '-' ? -1 : 1) * parseInt(m[5], 10) : 0;
    return [a, b];
  }
  const expect = c => { ws(); if (s[i] !== c) fail('expected ' + c); i++; };
  function pseudo() {
    if (s[i] === ':') fail('pseudo-elements match nothing');
    const name = ident().toLowerCase();
    const args = s[i] === '(';
    if (args) i++;
    const simple = ['first-child', 'last-child', 'only-child', 'first-of-type', 'last-of-type', 'only-of-type', 'empty', 'root', 'link', 'enabled', 'disabled', 'checked', 'input'];
    if (simple.includes(name)) { if (args) fail(':' + name + ' takes no argument'); return { p: name }; }
    if (!args) fail('unknown pseudo-class :' + name);
    let sel;
    switch (name) {
      case 'not': case 'has': case 'haschild': ws(); sel = { p: name, g: group() }; break;
      case 'contains': case 'containsown': ws(); sel = { p: name, v: stringOrIdent().toLowerCase() }; break;
      case 'matches': case 'matchesown': {
        const src = balanced();
        i++;
        let re;
        try { re = new RegExp(src); } catch (e) { fail('a bad regular expression: ' + e.message); }
        return { p: name, re };
      }
      case 'lang': ws(); sel = { p: name, v: stringOrIdent().toLowerCase() }; break;
      case 'nth-child': case 'nth-last-child': case 'nth-of-type': case 'nth-last-of-type': sel = { p: name, ab: nth() }; break;
      default: fail('unknown pseudo-class :' + name);
    }
    expect(')');
    return sel;
  }
  function attribute() {
    ws();
    const name = ident().toLowerCase();
    ws();
    if (s[i] === ']') { i++; return { name, op: '' }; }
    let op = s[i] === '=' ? '=' : s.slice(i, i + 2);
    if (!['=', '~=', '|=', '^=', '$=', '*=', '!=', '#='].includes(op)) fail('expected an attribute operator');
    i += op.length;
    ws();
    let value;
    if (op === '#=') {
      const start = i;
      while (i < s.length && s[i] !== ']') i++;
      try { value = new RegExp(s.slice(start, i).trim()); } catch (e) { fail('a bad regular expression: ' + e.message); }
    } else value = stringOrIdent();
    ws();
    if (s[i] !== ']') fail('expected ]');
    i++;
    return { name, op, value };
  }
  function compound() {
    const c = { tag: null, parts: [] };
    if (s[i] === '*') i++;
    else if (i < s.length && isNameChar(s[i]) && !/[0-9]/.test(s[i])) c.tag = ident().toLowerCase();
    else if (!/[#.[:]/.test(s[i] || '')) fail('expected a selector');
    for (;;) {
      const ch = s[i];
      if (ch === '#') { i++; c.parts.push({ id: ident() }); }
      else if (ch === '.') { i++; c.parts.push({ cls: ident() }); }
      else if (ch === '[') { i++; c.parts.push({ attr: attribute() }); }
      else if (ch === ':') { i++; c.parts.push(pseudo()); }
      else break;
    }
    return c;
  }
  function complex() {
    const compounds = [compound()], combinators = [];
    for (;;) {
      const spaced = ws();
      const ch = s[i];
      if (i >= s.length || ch === ',' || ch === ')') break;
      let comb = ' ';
      if (ch === '>' || ch === '+' || ch === '~') { comb = ch; i++; ws(); }
      else if (!spaced) fail('unexpected ' + ch);
      combinators.push(comb);
      compounds.push(compound());
    }
    return { compounds, combinators };
  }
  function group() {
    const list = [complex()];
    while (s[i] === ',') { i++; ws(); list.push(complex()); }
    return list;
  }
  ws();
  const g = group();
  ws();
  if (i < s.length) fail('unexpected ' + s[i]);
  return g;
}
// Compiled selectors, by text (bounded: a script that builds selectors
// from data does not grow it without end).
const selectorCache = new Map();
function compile(text) {
  const key = String(text);
  let g = selectorCache.get(key);
  if (g === undefined) {
    try { g = parseSelector(key); } catch (e) { if (!(e instanceof SelectorError)) throw e; g = null; }
    if (selectorCache.size >= 500) selectorCache.clear();
    selectorCache.set(key, g);
  }
  return g;
}
function nthMatch(ab, pos) {
  const [a, b] = ab;
  if (a === 0) return pos === b;
  const d = pos - b;
  return d % a === 0 && d / a >= 0;
}
// n's 1-based position among its parent's elements (of its type), from the
// start or the end: numbered once per parent (the document does not change),
// so :nth-child over a long list costs linear time, not a walk per element.
function position(n, ofType, fromEnd) {
  const p = n.parent;
  if (!p) return 1;
  if (p.positions === undefined) {
    const counts = new Map();
    let all = 0;
    for (const c of p.kids) if (c.t === 1) { c.pos = ++all; const k = (counts.get(c.name) || 0) + 1; counts.set(c.name, k); c.posType = k; }
    p.positions = { all, counts };
  }
  if (!ofType) return fromEnd ? p.positions.all - n.pos + 1 : n.pos;
  return fromEnd ? p.positions.counts.get(n.name) - n.posType + 1 : n.posType;
}
const FORM_CONTROLS = new Set(['button', 'input', 'select', 'textarea', 'optgroup', 'option', 'fieldset']);
function matchPart(n, part) {
  if (part.id !== undefined) return attrOf(n, 'id') === part.id;
  if (part.cls !== undefined) { const c = attrOf(n, 'class'); return c !== undefined && c.split(/[ \t\n\r\f]+/).includes(part.cls); }
  if (part.attr) {
    const { name, op, value } = part.attr, v = attrOf(n, name);
    if (op === '!=') return v !== value;
    if (v === undefined) return false;
    switch (op) {
      case '': return true;
      case '=': return v === value;
      case '~=': return value !== '' && !/[ \t\n\r\f]/.test(value) && v.split(/[ \t\n\r\f]+/).includes(value);
      case '|=': return v === value || v.startsWith(value + '-');
      case '^=': return value !== '' && v.startsWith(value);
      case '$=': return value !== '' && v.endsWith(value);
      case '*=': return value !== '' && v.includes(value);
      case '#=': return value.test(v);
    }
    return false;
  }
  switch (part.p) {
    case 'first-child': return position(n, false, false) === 1;
    case 'last-child': return position(n, false, true) === 1;
    case 'only-child': return position(n, false, false) === 1 && position(n, false, true) === 1;
    case 'first-of-type': return position(n, true, false) === 1;
    case 'last-of-type': return position(n, true, true) === 1;
    case 'only-of-type': return position(n, true, false) === 1 && position(n, true, true) === 1;
    case 'nth-child': return nthMatch(part.ab, position(n, false, false));
    case 'nth-last-child': return nthMatch(part.ab, position(n, false, true));
    case 'nth-of-type': return nthMatch(part.ab, position(n, true, false));
    case 'nth-last-of-type': return nthMatch(part.ab, position(n, true, true));
    case 'empty': return !n.kids.some(c => c.t === 1 || c.t === 3);
    case 'root': return !!n.parent && n.parent.t === 9;
    case 'link': return (n.name === 'a' || n.name === 'area' || n.name === 'link') && hasAttr(n, 'href');
    case 'enabled': return FORM_CONTROLS.has(n.name) && !hasAttr(n, 'disabled');
    case 'disabled': return FORM_CONTROLS.has(n.name) && hasAttr(n, 'disabled');
    case 'checked': return (n.name === 'input' && /^(checkbox|radio)$/i.test(attrOf(n, 'type') || '') && hasAttr(n, 'checked')) || (n.name === 'option' && hasAttr(n, 'selected'));
    case 'input': return n.name === 'input' || n.name === 'select' || n.name === 'textarea' || n.name === 'button';
    case 'not': return !matchGroup(n, part.g);
    case 'has': { let found = false; eachDescendant(n, c => { if (!found && c.t === 1 && matchGroup(c, part.g)) found = true; }); return found; }
    case 'haschild': return n.kids.some(c => c.t === 1 && matchGroup(c, part.g));
    case 'contains': return textOf(n).toLowerCase().includes(part.v);
    case 'containsown': return ownText(n).toLowerCase().includes(part.v);
    case 'matches': return part.re.test(textOf(n));
    case 'matchesown': return part.re.test(ownText(n));
    case 'lang': {
      for (let e = n; e && e.t === 1; e = e.parent) {
        const l = attrOf(e, 'lang');
        if (l !== undefined) { const v = l.toLowerCase(); return v === part.v || v.startsWith(part.v + '-'); }
      }
      return false;
    }
  }
  return false;
}
function matchCompound(n, c) {
  if (n.t !== 1 || (c.tag !== null && n.name !== c.tag)) return false;
  for (const part of c.parts) if (!matchPart(n, part)) return false;
  return true;
}
// Whether element n matches complex selector sel. Each step left of a
// combinator is remembered per node for this one call (memo), so that a
// selector with descendant or sibling combinators costs linear time over a
// document, deep or wide, instead of a walk per candidate.
function matchComplex(n, sel, memo) {
  const { compounds, combinators } = sel;
  const last = compounds.length - 1;
  if (!matchCompound(n, compounds[last])) return false;
  if (last === 0) return true;
  const full = (x, j) => {  // x matches compounds[0..j] with their combinators
    if (!matchCompound(x, compounds[j])) return false;
    if (j === 0) return true;
    const m = memo[j] || (memo[j] = new Map());
    let r = m.get(x);
    if (r === undefined) { r = related(x, j); m.set(x, r); }
    return r;
  };
  // x's relation (combinators[j-1]) to an element matching compounds[0..j-1]
  const related = (x, j) => {
    const comb = combinators[j - 1];
    if (comb === '>') { const p = parentEl(x); return !!p && full(p, j - 1); }
    if (comb === '+') { const p = prevEl(x); return !!p && full(p, j - 1); }
    const step = comb === ' ' ? parentEl : prevEl;
    const key = comb + (j - 1);
    const m = memo[key] || (memo[key] = new Map());
    const walked = [];
    let r = false;
    for (let y = step(x); y; y = step(y)) {
      const known = m.get(y);
      if (known !== undefined) { r = known; break; }
      walked.push(y);
      if (full(y, j - 1)) { r = true; break; }
    }
    // every element walked has an ancestor (sibling) or is one that matches iff r
    for (const y of walked) m.set(y, r);
    return r;
  };
  return related(n, last);
}
function matchGroup(n, g, memo) {
  if (n.t !== 1) return false;
  memo = memo || {};
  for (let k = 0; k < g.length; k++) {
    const m = memo[k] || (memo[k] = {});
    if (matchComplex(n, g[k], m)) return true;
  }
  return false;
}
// A matcher for one operation (find, filter, is...): (node) => bool.
function matcher(text) {
  const g = compile(text);
  if (!g) return () => false;
  const memo = {};
  return n => matchGroup(n, g, memo);
}
)JS";

}  // namespace loadkit::inline LOADKIT_ABI::js::detail::html
