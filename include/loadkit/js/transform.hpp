#pragma once
// Synchronous k6 scripts on async VUs.
//
// k6's API blocks (`http.get` returns the response), which on its own needs
// a thread per VU: at 1000 VUs the context switches and a realm per VU cost
// several times the CPU per request of C++. Before anything runs, the
// script's modules are rewritten so that the same code awaits instead: every
// function that (transitively) makes a request, sleeps, or groups one that
// does becomes `async`, and each of its calls becomes `(await call(...))`.
// The functions are found with SpiderMonkey's own parser (Reflect.parse) in
// JavaScript below; the rewrite inserts text only, so lines stay where they
// were, and errors map columns back to the original (column_map.hpp's
// column_map). The same pass decides whether the async VUs of a thread may
// share the modules' instances (shareability, below).
//
// Awaiting is only the same program when every blocking function is called
// directly, or given to `x.forEach(fn)` (rewritten to await each call in
// turn). When one is used as a value otherwise (`urls.map(u => http.get(u))`,
// `const f = get`), is a generator, or the rewritten code does not compile,
// the script runs unchanged on threads (one per VU), and `loadkit validate`
// says why. LOADKIT_JS_SYNC=threads keeps every script on threads.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "../core/config.hpp"
#include "../core/file.hpp"
#include "column_map.hpp"
#include "errors.hpp"
#include "program.hpp"
#include "spidermonkey.hpp"
#include "strings.hpp"

#pragma GCC diagnostic push
#if !defined(__clang__)  // g++ 12's warning; clang has no such group
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

namespace loadkit::inline LOADKIT_ABI::js::detail {

inline constexpr std::string_view transform_source = R"JS(
(function (host) {
'use strict';
// host.read(path) -> source text or null; host.resolve(referrerPath, specifier) -> absolute path or null (not a user module)
const HTTP_BLOCKING = new Set(['get', 'post', 'put', 'patch', 'del', 'head', 'options', 'request', 'batch']);
const K6_BLOCKING = new Set(['sleep']);
const WS_BLOCKING = new Set(['connect']);  // k6/ws: ws.connect runs the session to its end

class Fallback extends Error {}
const where = (file, node) => file + ':' + (node.loc ? node.loc.start.line + ':' + (node.loc.start.column + 1) : '?');
const isFn = n => n && (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression');

// Children of a node that are nodes, in source order (every key but loc).
function children(n) {
  const out = [];
  for (const k of Object.keys(n)) {
    if (k === 'loc') continue;
    const v = n[k];
    if (Array.isArray(v)) { for (const e of v) if (e && typeof e.type === 'string') out.push(e); }
    else if (v && typeof v.type === 'string') out.push(v);
  }
  return out;
}

// --- Whether the VUs of a thread may share one instance of a module ---
//
// k6 gives every VU its own instance of every module. Sharing one per thread
// (and scenario environment) shares its code, ICs and JIT code, which at a
// thousand VUs is a fifth of the CPU per request; it is the same program
// only when no VU can tell: the module's init code must compute the same
// values for every VU (no __VU, exec, session, console, randomness or time;
// only declarations), and no function may change module state (no
// assignment to a module binding or into an object it holds) or hand a
// module-level object to code that could (only http.* and JSON.stringify
// take them). Returns the kinds of the module's exports (for importers), or
// throws NotShared saying why not.
class NotShared extends Error {}
function shareability(ast, path, importKinds) {
  const kinds = new Map(importKinds);   // top-level binding -> primitive | function | metric | frozen | mutable | module
  const BANNED = new Set(['__VU', '__ITER', 'exec', 'session', 'console']);
  const PURE_CALLS = new Map([['open', 'primitive'], ['JSON.parse', 'mutable'], ['JSON.stringify', 'primitive'], ['String', 'primitive'],
    ['Number', 'primitive'], ['Boolean', 'primitive'], ['parseInt', 'primitive'], ['parseFloat', 'primitive'],
    ['encodeURIComponent', 'primitive'], ['encodeURI', 'primitive']]);
  const NONDETERMINISTIC = /^(Math\.random|Date\.now|Date|performance\.now|crypto\..*|randomBytes|randomString|randomIntBetween)$/;
  const METRICS = new Set(['Counter', 'Gauge', 'Rate', 'Trend']);
  const GLOBAL_PRIMITIVES = new Set(['undefined', 'NaN', 'Infinity']);
  const no = (node, why) => { throw new NotShared(where(path, node) + ': ' + why); };
  const nameOf = e => e.type === 'Identifier' ? e.name
    : e.type === 'MemberExpression' && !e.computed && e.object.type === 'Identifier' ? e.object.name + '.' + e.property.name : null;
  const rootOf = e => { while (e.type === 'MemberExpression') e = e.object; return e.type === 'Identifier' ? e.name : null; };
  const join = (a, b) => a === b ? a : 'mutable';

  // Init code: the kind of value an expression makes, the same for every VU.
  function initKind(n) {
    switch (n.type) {
      case 'Literal': return n.value !== null && typeof n.value === 'object' ? 'mutable' : 'primitive';
      case 'Identifier':
        if (BANNED.has(n.name)) no(n, n.name + ' in init code differs between VUs');
        if (GLOBAL_PRIMITIVES.has(n.name)) return 'primitive';
        return kinds.get(n.name) || 'mutable';
      case 'TemplateLiteral': n.elements.forEach(initKind); return 'primitive';
      case 'UnaryExpression':
        if (n.operator === 'delete') no(n, 'delete in init code');
        initKind(n.argument);
        return 'primitive';
      case 'BinaryExpression': initKind(n.left); initKind(n.right); return 'primitive';
      case 'LogicalExpression': return join(initKind(n.left), initKind(n.right));
      case 'ConditionalExpression': initKind(n.test); return join(initKind(n.consequent), initKind(n.alternate));
      case 'MemberExpression': {
        const root = rootOf(n);
        if (n.computed) initKind(n.property);
        const k = initKind(n.object);
        if (root === '__ENV') return 'primitive';
        return k === 'frozen' || k === 'primitive' ? k : 'mutable';
      }
      case 'ArrowFunctionExpression': case 'FunctionExpression': return 'function';
      case 'ObjectExpression':
        for (const p of n.properties) {
          if (p.type !== 'Property') no(p, 'a spread in init code');
          if (p.key.type === 'ComputedName') initKind(p.key.name);
          initKind(p.value);
        }
        return 'mutable';
      case 'ArrayExpression': n.elements.forEach(e => e && initKind(e)); return 'mutable';
      case 'CallExpression': {
        const name = nameOf(n.callee);
        if (!PURE_CALLS.has(name)) no(n, 'init code calls ' + (name || 'a function') + '()');
        n.arguments.forEach(initKind);
        return PURE_CALLS.get(name);
      }
      case 'NewExpression': {
        const name = nameOf(n.callee);
        if (METRICS.has(name)) { n.arguments.forEach(initKind); return 'metric'; }
        if (name === 'SharedArray') {
          initKind(n.arguments[0]);
          const fn = n.arguments[1];
          if (fn && (fn.type === 'ArrowFunctionExpression' || fn.type === 'FunctionExpression')) deterministic(fn.body);
          else if (fn) initKind(fn);
          return 'frozen';
        }
        no(n, 'init code makes a new ' + (name || 'object'));
      }
      default: no(n, 'init code with ' + n.type);
    }
  }
  // SharedArray's callback runs once per thread instead of once per VU: its
  // result is frozen, so it only has to be the same every time.
  function deterministic(n) {
    if (!n || typeof n.type !== 'string') return;
    if (n.type === 'Identifier' && BANNED.has(n.name)) no(n, n.name + ' in a SharedArray callback');
    if ((n.type === 'CallExpression' || n.type === 'NewExpression') && NONDETERMINISTIC.test(nameOf(n.callee) || '')) no(n, 'randomness or time in init code');
    for (const ch of children(n)) deterministic(ch);
  }

  const functions = [];
  for (const st of ast.body) {
    const d = st.type === 'ExportDeclaration' ? st.declaration : st;
    if (st.type === 'ImportDeclaration' || st.type === 'EmptyStatement' || !d) continue;
    if (d.type === 'FunctionDeclaration') { kinds.set(d.id.name, 'function'); functions.push(d); continue; }
    if (d.type === 'VariableDeclaration') {
      for (const v of d.declarations) {
        if (v.id.type !== 'Identifier') no(v, 'a destructuring declaration in init code');
        kinds.set(v.id.name, v.init ? initKind(v.init) : 'primitive');
      }
      continue;
    }
    if (st.type === 'ExportDeclaration' && st.isDefault) { kinds.set('*default*', initKind(d)); continue; }
    no(st, 'top-level code other than declarations runs once per VU');
  }
  // Function bodies: what they do with module state.
  const collectFns = n => {
    if (!n || typeof n.type !== 'string') return;
    if (isFn(n)) { functions.push(n); return; }
    for (const ch of children(n)) collectFns(ch);
  };
  for (const st of ast.body) if (st.type !== 'ImportDeclaration') { const d = st.type === 'ExportDeclaration' ? st.declaration : st; if (d && !isFn(d)) collectFns(d); }
  const topLevel = name => kinds.has(name) && !importKinds.has(name) || (importKinds.has(name) && importKinds.get(name) !== 'module');
  const HANDS_OFF = c => {   // calls that may be given module-level objects: they do not change them
    const e = c.callee;
    if (e.type === 'MemberExpression' && !e.computed && e.object.type === 'Identifier' && kinds.get(e.object.name) === 'module') return true;
    return nameOf(e) === 'JSON.stringify';
  };
  function body(n, parent) {
    if (!n || typeof n.type !== 'string') return;
    switch (n.type) {
      case 'AssignmentExpression': case 'UpdateExpression': {
        const target = n.type === 'AssignmentExpression' ? n.left : n.argument;
        const root = rootOf(target);
        if (root && topLevel(root)) no(n, 'changes module state (' + root + ')');
        break;
      }
      case 'UnaryExpression':
        if (n.operator === 'delete') { const root = rootOf(n.argument); if (root && topLevel(root)) no(n, 'changes module state (' + root + ')'); }
        break;
      case 'MemberExpression':
        body(n.object, n);
        if (n.computed) body(n.property, n);
        return;
      case 'Property':
        if (n.key.type === 'ComputedName') body(n.key.name, n);
        body(n.value, n);
        return;
      case 'VariableDeclarator': body(n.init, n); return;
      case 'FunctionDeclaration': case 'FunctionExpression': case 'ArrowFunctionExpression':
        body(n.body, n);
        return;
      case 'LabeledStatement': body(n.body, n); return;
      case 'BreakStatement': case 'ContinueStatement': return;
      case 'Identifier':
        if (n.name === 'eval' || n.name === 'Function') no(n, n.name + ' could change module state');
        if (kinds.get(n.name) === 'mutable' && !(parent && parent.type === 'CallExpression' && parent.callee !== n && HANDS_OFF(parent)))
          no(n, 'uses ' + n.name + ', an object of module state, which VUs would share');
        return;
    }
    for (const ch of children(n)) body(ch, n);
  }
  for (const f of functions) body(f.body, f);
  // what importers see of this module's bindings
  const exportKinds = new Map();
  for (const st of ast.body) {
    if (st.type !== 'ExportDeclaration') continue;
    const d = st.declaration;
    if (st.isDefault) exportKinds.set('default', d && isFn(d) ? 'function' : kinds.get('*default*') || 'mutable');
    else if (d && d.type === 'FunctionDeclaration') exportKinds.set(d.id.name, 'function');
    else if (d && d.type === 'VariableDeclaration') for (const v of d.declarations) exportKinds.set(v.id.name, kinds.get(v.id.name));
    if (st.specifiers) for (const sp of st.specifiers) {
      if (sp.type === 'ExportBatchSpecifier' || st.moduleRequest) no(st, 're-exports');
      exportKinds.set(sp.name ? sp.name.name : sp.id.name, kinds.get(sp.id.name) || 'mutable');
    }
  }
  return exportKinds;
}

const done = new Map();        // path -> {exports: Map(name -> blocking), exportKinds, notShared, code, inserted}
const active = new Set();

function analyse(path) {
  if (done.has(path)) return done.get(path);
  if (active.has(path)) throw new Fallback(path + ': circular imports');
  active.add(path);
  const source = host.read(path);
  if (source === null || source === undefined) throw new Fallback(path + ': cannot read it');
  let ast;
  try { ast = Reflect.parse(source, { target: 'module', source: path }); }
  catch (e) { throw new Fallback(path + ': ' + e); }   // the real compile reports it with its location

  // What the names imported from k6 modules and the user's modules are.
  const httpObjects = new Set(['http']);     // http.get(...)
  const blockingNames = new Set(['sleep']);  // sleep(...), get(...) from k6/http, blocking functions
  const groupNames = new Set(['group']);
  const k6Objects = new Set();               // k6.sleep(...), k6.group(...)
  const wsObjects = new Set();               // ws.connect(...) (k6/ws)
  const userNamespaces = new Map();          // lib.login(...) -> the module's exports
  const importKinds = new Map();             // for sharing: what each imported name holds
  let notShared = null;                      // why a module this one imports cannot be shared
  let grpcImported = false;                  // k6/net/grpc: its clients' connect and invoke block
  for (const st of ast.body) {
    if (st.type !== 'ImportDeclaration') continue;
    const from = st.moduleRequest.source.value;
    const user = host.resolve(path, from);
    const dep = user ? analyse(user) : null;
    if (dep && dep.notShared) notShared = dep.notShared;
    for (const sp of st.specifiers) {
      const local = sp.name.name;
      const imported = sp.type === 'ImportNamespaceSpecifier' ? '*' : sp.id.name;
      importKinds.set(local, !dep ? 'module' : imported === '*' ? 'frozen' : (dep.exportKinds && dep.exportKinds.get(imported)) || 'mutable');
      if (dep) {
        if (imported === '*') userNamespaces.set(local, dep.exports);
        else if (dep.exports.get(imported)) blockingNames.add(local);
      } else if (from === 'k6/http') {
        if (imported === '*' || imported === 'default') httpObjects.add(local);
        else if (HTTP_BLOCKING.has(imported)) blockingNames.add(local);
      } else if (from === 'k6/ws') {
        if (imported === '*' || imported === 'default') wsObjects.add(local);
        else if (WS_BLOCKING.has(imported)) blockingNames.add(local);
      } else if (from === 'k6/net/grpc' || from === 'k6/experimental/grpc') {
        grpcImported = true;   // client.connect(...) and client.invoke(...) block
      } else if (from === 'k6') {
        if (imported === '*' || imported === 'default') k6Objects.add(local);
        else if (K6_BLOCKING.has(imported)) blockingNames.add(local);
        else if (imported === 'group') groupNames.add(local);
      }
    }
  }

  // Every function, its binding name, and the calls made directly in it.
  const fns = [];            // {node, name, role, calls: [], blocking}
  const byName = new Map();  // name -> [fn]
  const calls = [];          // every call: {node, fn, kind, arg}
  const refs = [];           // identifiers used as values: {name, node}
  function callee(c) {
    const e = c.callee;
    if (e.type === 'Identifier') {
      if (groupNames.has(e.name)) return { kind: 'group' };
      return { kind: 'name', name: e.name };
    }
    if (e.type === 'MemberExpression' && !e.computed && e.object.type === 'Identifier') {
      const o = e.object.name, p = e.property.name;
      if (httpObjects.has(o) && HTTP_BLOCKING.has(p)) return { kind: 'prim' };
      if (k6Objects.has(o) && K6_BLOCKING.has(p)) return { kind: 'prim' };
      if (wsObjects.has(o) && WS_BLOCKING.has(p)) return { kind: 'prim' };
      if (k6Objects.has(o) && p === 'group') return { kind: 'group' };
      if (userNamespaces.has(o)) return { kind: 'export', blocking: !!userNamespaces.get(o).get(p) };
    }
    // res.submitForm(...), res.clickLink(...) (k6/html) make a request
    if (e.type === 'MemberExpression' && !e.computed && (e.property.name === 'submitForm' || e.property.name === 'clickLink')) return { kind: 'prim' };
    // client.connect(...), client.invoke(...) of k6/net/grpc (any object's, once the module is imported)
    if (grpcImported && e.type === 'MemberExpression' && !e.computed && (e.property.name === 'invoke' || e.property.name === 'connect')) return { kind: 'prim' };
    // x.forEach(fn): awaited in turn when fn blocks (see the edits below)
    if (e.type === 'MemberExpression' && !e.computed && e.property.name === 'forEach') return { kind: 'forEach', object: e.object };
    return { kind: 'other' };
  }
  function fnName(node, parent) {
    if (node.type === 'FunctionDeclaration' && node.id) return node.id.name;
    if (parent && parent.type === 'VariableDeclarator' && parent.id.type === 'Identifier') return parent.id.name;
    return null;
  }
  function visitFn(node, parent, role) {
    const f = { node, name: fnName(node, parent), blocking: false, role, calls: [] };
    fns.push(f);
    if (f.name) { if (!byName.has(f.name)) byName.set(f.name, []); byName.get(f.name).push(f); }
    // Default parameter values are not rewritten (an await cannot go
    // there): a blocking call in one keeps the script on threads (below).
    const inParams = n => {
      if (!n || typeof n.type !== 'string') return;
      if (n.type === 'CallExpression') paramCalls.push(Object.assign({ node: n }, callee(n)));
      for (const ch of children(n)) inParams(ch);
    };
    (node.defaults || []).forEach(inParams);
    node.params.forEach(inParams);
    visit(node.body, node, f);
    return f;
  }
  const paramCalls = [];
  function visit(n, parent, fn) {
    if (!n || typeof n.type !== 'string') return;
    switch (n.type) {
      case 'FunctionDeclaration': case 'FunctionExpression': case 'ArrowFunctionExpression':
        visitFn(n, parent, parent && parent.type === 'ExportDeclaration' ? 'exportDefault' : parent && parent.type === 'VariableDeclarator' ? 'bound' : 'value');
        return;
      case 'ImportDeclaration': return;
      case 'ExportDeclaration':
        if (n.declaration && n.declaration.type !== 'Identifier') visit(n.declaration, n, fn);
        return;   // export { a, b }: not uses as values
      case 'MemberExpression':
        visit(n.object, n, fn);
        if (n.computed) visit(n.property, n, fn);
        return;
      case 'Property':
        if (n.computed) visit(n.key, n, fn);
        visit(n.value, n, fn);
        return;
      case 'ClassMethod': case 'ClassField':
        if (n.computed) visit(n.name, n, fn);
        visit(n.body || n.init, n, fn);
        return;
      case 'VariableDeclarator':
        visit(n.init, n, fn);
        return;
      case 'LabeledStatement': visit(n.body, n, fn); return;
      case 'BreakStatement': case 'ContinueStatement': return;
      case 'CatchClause': visit(n.guard, n, fn); visit(n.body, n, fn); return;
      case 'CallExpression': {
        const c = Object.assign({ node: n, fn }, callee(n));
        calls.push(c);
        if (fn) fn.calls.push(c);
        if (n.callee.type !== 'Identifier') visit(n.callee, n, fn);
        n.arguments.forEach((a, i) => {
          if ((c.kind === 'group' && i === 1) || (c.kind === 'forEach' && i === 0)) {
            if (isFn(a)) { c.inline = visitFn(a, n, 'group'); return; }
            if (a.type === 'Identifier') { c.named = a.name; return; }
          }
          visit(a, n, fn);
        });
        return;
      }
      case 'Identifier': refs.push({ name: n.name, node: n }); return;
      default:
        for (const ch of children(n)) visit(ch, n, fn);
    }
  }
  for (const st of ast.body) visit(st, null, null);

  // Blocking functions, to a fixed point: a sync function that makes a
  // request, sleeps, or calls (or groups) a blocking function.
  const isBlockingName = name => blockingNames.has(name) || (byName.get(name) || []).some(f => f.blocking);
  const blocks = c => c.kind === 'prim' || (c.kind === 'name' && isBlockingName(c.name)) || (c.kind === 'export' && c.blocking) ||
                      ((c.kind === 'group' || c.kind === 'forEach') && ((c.inline && c.inline.blocking) || (c.named && isBlockingName(c.named))));
  for (let changed = true; changed;) {
    changed = false;
    for (const f of fns) {
      if (f.blocking || f.node.async) continue;
      if (f.calls.some(blocks)) { f.blocking = true; changed = true; }
    }
  }

  // Where a blocking function cannot become async: the VU stays a thread.
  for (const f of fns) {
    if (!f.blocking) continue;
    if (f.node.generator) throw new Fallback(where(path, f.node) + ': a generator that makes requests');
    if (!f.name && f.role !== 'group' && !(f.role === 'exportDefault')) throw new Fallback(where(path, f.node) + ': a function that makes requests is passed as a value');
  }
  for (const r of refs)
    if ((byName.get(r.name) || []).some(f => f.blocking)) throw new Fallback(where(path, r.node) + ': ' + r.name + '() makes requests and is used as a value');
  for (const c of paramCalls)
    if (blocks(c)) throw new Fallback(where(path, c.node) + ': a request in a default parameter value');

  // The edits: `async ` before each blocking function, `(await ` ... `)`
  // around each blocking call inside a function.
  const lineStart = [0, 0];
  for (let i = 0; i < source.length; ++i) if (source.charCodeAt(i) === 10) lineStart.push(i + 1);
  const at = p => lineStart[p.line] + p.column;
  // At one offset: closes first (inner calls first), then opens (outer
  // calls first), then `async `.
  const edits = [];  // [offset, rank, tie, text]
  // A function declaration's or named expression's location starts at its
  // name: `async` goes before its `function` keyword.
  const fnStart = f => {
    const s = at(f.node.loc.start);
    return f.node.type === 'ArrowFunctionExpression' || source.startsWith('function', s) ? s : source.lastIndexOf('function', s);
  };
  for (const f of fns) if (f.blocking) edits.push([fnStart(f), 2, 0, 'async ']);
  for (const c of calls) {
    if (!c.fn || !blocks(c)) continue;
    const s = at(c.node.loc.start), e = at(c.node.loc.end);
    edits.push([s, 1, -(e - s), '(await ']);
    edits.push([e, 0, e - s, ')']);
    if (c.kind === 'forEach') {
      // x.forEach(fn) -> (await __loadkit.awaitable(x).forEach(fn)): the
      // prelude's forEach calls fn for each of x's items in turn, awaiting each
      const os = at(c.object.loc.start), oe = at(c.object.loc.end);
      edits.push([os, 1, -(oe - os), '__loadkit.awaitable(']);
      edits.push([oe, 0, oe - os, ')']);
    }
  }
  edits.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  let code = '', from = 0;
  const inserted = [];  // [line, column in the original, length], in order: to report original columns
  let line = 1;
  for (const [off, , , text] of edits) {
    code += source.slice(from, off) + text;
    from = off;
    while (line + 1 < lineStart.length && lineStart[line + 1] <= off) ++line;
    inserted.push(line, off - lineStart[line], text.length);
  }
  code += source.slice(from);

  const exports = new Map();
  for (const st of ast.body) {
    if (st.type !== 'ExportDeclaration') continue;
    const d = st.declaration;
    if (d && isFn(d)) exports.set(st.isDefault || !d.id ? 'default' : d.id.name, fns.find(f => f.node === d).blocking);
    else if (d && d.type === 'Identifier' && st.isDefault) exports.set('default', isBlockingName(d.name));
    else if (d && d.type === 'VariableDeclaration')
      for (const v of d.declarations) if (v.id.type === 'Identifier') exports.set(v.id.name, isBlockingName(v.id.name));
    if (st.specifiers) {
      const target = st.moduleRequest ? host.resolve(path, st.moduleRequest.source.value) : null;
      const dep = target ? analyse(target) : null;
      for (const sp of st.specifiers) {
        if (sp.type === 'ExportBatchSpecifier') { if (dep) for (const [k, v] of dep.exports) exports.set(k, v); continue; }
        const local = sp.id.name, name = sp.name ? sp.name.name : local;
        exports.set(name, dep ? !!dep.exports.get(local) : !st.moduleRequest && isBlockingName(local));
      }
    }
  }
  // sharing: on the original tree (the rewrite only adds async and await)
  let exportKinds = null;
  try {
    exportKinds = shareability(ast, path, importKinds);
  } catch (e) {
    if (!(e instanceof NotShared)) throw e;
    notShared = notShared || e.message;
  }
  const out = { exports, exportKinds, notShared, code, inserted };
  active.delete(path);
  done.set(path, out);
  return out;
}

// The program from its main module: {ok, sources: {path: code}} or {ok: false, reason}.
return function transformProgram(main) {
  done.clear(); active.clear();
  try {
    analyse(main);
  } catch (e) {
    if (e instanceof Fallback) return { ok: false, reason: e.message };
    throw e;
  }
  const sources = {}, inserted = {};
  let notShared = null;
  for (const [path, m] of done) {
    sources[path] = m.code;
    inserted[path] = m.inserted;
    notShared = notShared || m.notShared;
  }
  return { ok: true, sources, inserted, shared: !notShared, notShared };
};
})
)JS";

// host.read(path): the file's text, or null.
inline bool transform_read(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    std::string text, why;  // null for what the module hook would refuse too (/dev/zero, too large)
    if (!loadkit::detail::read_input_file(to_utf8(cx, args.get(0)), loadkit::detail::max_test_file_bytes, text, why)) {
        args.rval().setNull();
        return true;
    }
    JSString* s = new_string(cx, text);
    if (!s) return false;
    args.rval().setString(s);
    return true;
}
// host.resolve(referrer, specifier): the path of a module of the user's own,
// as the module hook finds it, or null (k6/* and anything else).
inline bool transform_resolve(JSContext* cx, unsigned argc, JS::Value* vp) {
    auto args = JS::CallArgsFromVp(argc, vp);
    args.rval().setNull();
    auto path = user_module_path(std::filesystem::path(to_utf8(cx, args.get(0))).parent_path(),
                                 to_utf8(cx, args.get(1)));
    if (!path) return true;
    JSString* s = new_string(cx, *path);
    if (!s) return false;
    args.rval().setString(s);
    return true;
}

// Rewrites the program's modules into prog.sources (prog.transformed), or
// leaves them and says why in prog.transform_note. The rewritten modules are
// compiled here, so a rewrite that does not compile falls back too; a script
// that does not parse is left to the real compile, which names the place.
inline void transform_program(JSContext* cx, program& prog) {
    prog.transformed = false;
    prog.shared_modules = false;
    {
        std::lock_guard lock(column_maps_mutex());
        column_maps().erase(prog.main.string());
    }
    if (const char* e = std::getenv("LOADKIT_JS_SYNC"); e && std::string_view(e) == "threads") {
        prog.transform_note = "LOADKIT_JS_SYNC=threads";
        return;
    }
    static JSClass global_class = {"transform", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps, nullptr, nullptr,
                                   nullptr};
    JS::RealmOptions options;
    JS::RootedObject g(cx, JS_NewGlobalObject(cx, &global_class, nullptr, JS::FireOnNewGlobalHook, options));
    if (!g) {
        prog.transform_note = "cannot create the transformer's global";
        JS_ClearPendingException(cx);
        return;
    }
    JSAutoRealm ar(cx, g);
    auto fail = [&](std::string why) {
        prog.transform_note = std::move(why);
        prog.sources.clear();
        JS_ClearPendingException(cx);
    };
    JS::RootedObject host(cx, JS_NewPlainObject(cx));
    static const JSFunctionSpec natives[] = {JS_FN("read", &transform_read, 1, 0),
                                             JS_FN("resolve", &transform_resolve, 2, 0), JS_FS_END};
    if (!host || !JS_InitReflectParse(cx, g) || !JS_DefineFunctions(cx, host, natives))
        return fail("cannot set up the transformer");
    JS::CompileOptions opts(cx);
    opts.setFileAndLine("loadkit:transform", 1);
    JS::SourceText<mozilla::Utf8Unit> text;
    JS::RootedValue factory(cx), transform(cx), result(cx);
    if (!text.init(cx, transform_source.data(), transform_source.size(), JS::SourceOwnership::Borrowed) ||
        !JS::Evaluate(cx, opts, text, &factory))
        return fail("the transformer: " + take_exception(cx));
    JS::RootedValueArray<1> args(cx);
    args[0].setObject(*host);
    if (!JS_CallFunctionValue(cx, nullptr, factory, args, &transform))
        return fail("the transformer: " + take_exception(cx));
    JSString* main = new_string(cx, prog.main.string());
    if (!main) return fail("out of memory");
    args[0].setString(main);
    if (!JS_CallFunctionValue(cx, nullptr, transform, args, &result) || !result.isObject())
        return fail("the transformer: " + take_exception(cx));
    JS::RootedObject r(cx, &result.toObject());
    JS::RootedValue v(cx);
    if (!JS_GetProperty(cx, r, "ok", &v)) return fail(take_exception(cx));
    if (!v.isTrue()) {
        if (!JS_GetProperty(cx, r, "reason", &v)) return fail(take_exception(cx));
        return fail(to_utf8(cx, v));
    }
    if (!JS_GetProperty(cx, r, "shared", &v)) return fail(take_exception(cx));
    bool shared = v.isTrue();
    if (!JS_GetProperty(cx, r, "notShared", &v)) return fail(take_exception(cx));
    std::string not_shared = v.isString() ? to_utf8(cx, v) : std::string();
    if (!JS_GetProperty(cx, r, "sources", &v) || !v.isObject()) return fail(take_exception(cx));
    JS::RootedObject sources(cx, &v.toObject());
    JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
    if (!JS_Enumerate(cx, sources, &ids)) return fail(take_exception(cx));
    JS::RootedValue key(cx);
    JS::RootedId id(cx);
    for (std::size_t i = 0; i < ids.length(); ++i) {
        id = ids[i];
        if (!JS_IdToValue(cx, id, &key) || !JS_GetPropertyById(cx, sources, id, &v)) return fail(take_exception(cx));
        prog.sources[to_utf8(cx, key)] = to_utf8(cx, v);
    }
    // where text was inserted, to report the original columns (column_map.hpp)
    if (!JS_GetProperty(cx, r, "inserted", &v) || !v.isObject()) return fail(take_exception(cx));
    JS::RootedObject inserted(cx, &v.toObject());
    std::map<std::string, column_map, std::less<>> maps;
    for (auto& [path, code] : prog.sources) {
        bool is_array = false;
        std::uint32_t n = 0;
        if (!JS_GetProperty(cx, inserted, path.c_str(), &v) || !v.isObject())
            return fail("the transformer gave no insertions for " + path);
        JS::RootedObject list(cx, &v.toObject());
        if (!JS::IsArrayObject(cx, list, &is_array) || !is_array || !JS::GetArrayLength(cx, list, &n))
            return fail(take_exception(cx));
        auto& map = maps[path];
        JS::RootedValue e(cx);
        for (std::uint32_t i = 0; i + 2 < n; i += 3) {
            std::uint32_t at[3];
            for (std::uint32_t j = 0; j < 3; ++j) {
                if (!JS_GetElement(cx, list, i + j, &e) || !e.isNumber())
                    return fail("the transformer's insertions are not numbers");
                at[j] = static_cast<std::uint32_t>(e.toNumber());
            }
            map.lines[at[0]].push_back({at[1], at[2]});
        }
    }
    for (auto& [path, code] : prog.sources) {
        if (!prog.module(cx, path, nullptr)) {  // a file of the script, never a k6/* module
            std::string why = "the rewritten " + path + " does not compile: " + take_exception(cx);
            std::lock_guard lock(prog.mu);
            prog.modules.clear();
            return fail(std::move(why));
        }
    }
    {
        std::lock_guard lock(column_maps_mutex());
        for (auto& [path, map] : maps) column_maps()[path] = std::move(map);
    }
    prog.transformed = true;
    prog.shared_modules = shared && !std::getenv("LOADKIT_JS_MODULE_PER_VU");
    prog.share_note = shared ? "LOADKIT_JS_MODULE_PER_VU is set" : not_shared;
}

}  // namespace loadkit::inline LOADKIT_ABI::js::detail

#pragma GCC diagnostic pop
