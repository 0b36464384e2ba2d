// k6/html: parseHTML, the Selection and Element APIs, CSS selectors, and
// res.html(), res.submitForm() and res.clickLink(), against what k6 v0.48.0
// printed for the same documents and scripts (noted by each check). The
// scripts run in both VU modes (the second CTest run: LOADKIT_JS_SYNC=threads).
#include <catch2/catch.hpp>

#include <string>

#include <loadkit.hpp>
#include <loadkit/js.hpp>
#include <loadkit/js/html/parse.hpp>
#include <loadkit/target.hpp>
#include <loadkit/yaml.hpp>

#include "support.hpp"
#include "unit.hpp"

namespace LOADKIT_TEST_UNIT {

using test_support::scratch;

namespace {

loadkit::run_result run_html_script(const std::string& file, const std::string& target) {
    loadkit::js::script s(file, {{{"TARGET", target}}});
    auto plan = loadkit::js::make_plan(s);
    loadkit::options o;
    o.threads = 1;
    o.print_summary = false;
    o.handle_signals = false;
    o.env["TARGET"] = target;
    return loadkit::yaml::run(plan, o, &s);
}

// The checks of a run: each must pass, and there must be `count` of them.
void all_pass(const loadkit::run_result& r, int count) {
    CHECK(r.code == 0);
    double passes = 0;
    for (auto& c : r.summary["checks"]) {
        INFO("check " << c["name"]);
        CHECK(c["fails"].get<double>() == 0);
        passes += c["passes"].get<double>();
    }
    CHECK(passes == count);
}

// A document with a bit of everything; the same as the k6 runs noted below.
constexpr const char* fixture = R"HTML(<!DOCTYPE html>
<html lang="en"><head><title>Shop &amp; co</title><meta name="description" content="d"></head>
<body>
<div id="main" class="box wide" data-user-id="42" data-flag="true" data-obj='{"a":[1,2]}' data-s="x y">
  <h1 class="title">Hello <em>world</em></h1>
  <p class="intro first">One's "quoted" <br> line</p>
  <p lang="en-US">Two</p>
  <ul id="list">
    <li class="item">a</li><li class="item odd">b</li><li>c</li><li class="item">d</li><li data-x="1">e</li>
  </ul>
  <a href="/next?page=2#top" rel="next nofollow" id="nx">Next</a>
  <a href="https://user:pw@example.com:8080/x/y?q=1">Ext</a>
  <span title="en-GB thing">s1</span><span title="enx">s2</span>
  <img src="/i.png" alt="pic"><input type="text" name="plain">
</div>
<form id="f" action="/submit" method="post">
  <input type="hidden" name="csrf" value="tok">
  <input type="text" name="user" value="bob">
  <input type="text" name="empty">
  <input type="checkbox" name="cb1" checked="checked">
  <input type="checkbox" name="cb2">
  <input type="radio" name="r" value="1"><input type="radio" name="r" value="2" checked="checked">
  <input type="text" name="dis" value="no" disabled="disabled">
  <select name="sel"><option value="a">A</option><option selected>B &amp; b</option></select>
  <select name="multi" multiple><option value="x" selected>X</option><option value="y" selected>Y</option><option value="z">Z</option></select>
  <textarea name="ta">Some &lt;text&gt;</textarea>
  <button type="submit" name="go" value="yes">Go</button>
  <input type="submit" name="alt" value="Alt">
</form>
<table><tr><td>1</td><td>2</td></tr></table>
<pre>
x</pre>
<svg viewBox="0 0 1 1"><path d="M0"/><foreignObject></foreignObject></svg>
<script>if (a < b && c > "d") {}</script>
</body></html>
)HTML";

std::string with_fixture(scratch& s, const std::string& body) {
    s.write("fixture.html", fixture);
    return s.write(
        "html.js",
        "import { parseHTML } from 'k6/html';\nimport { check } from 'k6';\n"
        "export const options = { vus: 1, iterations: 1 };\n"
        "const doc = parseHTML(open('./fixture.html'));\n"
        "const q = s => { const r = doc.find(s); return r.size() + ' ' + r.map((i, e) => e.get(0).nodeName() + ':' + e.text().trim().slice(0, 3)).join('|'); };\n"
        "export default function () {\n" +
            body + "\n}\n");
}

}  // namespace

TEST_CASE("js html: gumbo's document as flat nodes, freed at once, deep documents without recursion") {
    using loadkit::js::detail::html::parse_to_json;
    CHECK(parse_to_json("<!DOCTYPE html><p class=a>Hi &amp; <b>x</b><!--c-->") ==
          R"([[9],[10,0,"html"],[1,0,"html",[],0],[1,2,"head",[],0],[1,2,"body",[],0],[1,4,"p",["class","a"],0],)"
          R"([3,5,"Hi & "],[1,5,"b",[],0],[3,7,"x"],[8,5,"c"]])");
    // SVG's names as Go's parser gives them; unknown tags in lower case; quotes and controls escaped
    CHECK(parse_to_json("<svg><foreignobject/></svg><my-Tag x='\"\t'>") ==
          R"([[9],[1,0,"html",[],0],[1,1,"head",[],0],[1,1,"body",[],0],[1,3,"svg",[],1],)"
          R"([1,4,"foreignObject",[],1],[1,3,"my-tag",["x","\"\u0009"],0]])");
    CHECK(parse_to_json("") == R"([[9],[1,0,"html",[],0],[1,1,"head",[],0],[1,1,"body",[],0]])");
    std::string deep;
    for (int i = 0; i < 30000; ++i) deep += "<div>";  // gumbo itself is quadratic in depth: 200000 took 87 s
    auto json = parse_to_json(deep);
    CHECK(json.size() > 30000 * 10);
}

// k6 v0.48.0 printed, for doc.find(selector) on the fixture (count, then
// node:text), the values in each check below.
TEST_CASE("js html: CSS selectors match as k6's") {
    loadkit::target_server server;
    scratch s;
    auto f = with_fixture(s, R"JS(
  const expect = {
    'li': '5 li:a|li:b|li:c|li:d|li:e', '#list li': '5 li:a|li:b|li:c|li:d|li:e', 'ul > li': '5 li:a|li:b|li:c|li:d|li:e',
    'li.item': '3 li:a|li:b|li:d', '.item.odd': '1 li:b', 'li:first-child': '1 li:a', 'li:last-child': '1 li:e',
    'li:nth-child(2)': '1 li:b', 'li:nth-child(odd)': '3 li:a|li:c|li:e', 'li:nth-child(2n+1)': '3 li:a|li:c|li:e',
    'li:nth-child(-n+2)': '2 li:a|li:b', 'li:nth-last-child(1)': '1 li:e', 'p:nth-of-type(2)': '1 p:Two',
    'p:first-of-type': "1 p:One", 'p:last-of-type': '1 p:Two', 'li:not(.item)': '2 li:c|li:e', 'div:has(h1)': '1 div:Hel',
    'p:contains("Two")': '1 p:Two', 'li:contains(b)': '1 li:b', 'h1 + p': '1 p:One', 'h1 ~ p': '2 p:One|p:Two',
    'li + li': '4 li:b|li:c|li:d|li:e', '[data-x]': '1 li:e', '[data-x="1"]': '1 li:e', 'a[rel~=next]': '1 a:Nex',
    'span[title|=en]': '1 span:s1', 'a[href^="/next"]': '1 a:Nex', 'a[href$="y?q=1"]': '1 a:Ext', 'a[href*=example]': '1 a:Ext',
    'p[lang|="en"]': '1 p:Two', 'h1, p': '3 h1:Hel|p:One|p:Two', 'p, h1': '3 h1:Hel|p:One|p:Two', 'div em': '1 em:wor',
    'body > em': '0 ', 'input[type=checkbox][checked]': '1 input:', 'option:checked': '3 option:B &|option:X|option:Y',
    'input:checked': '2 input:|input:', 'input:disabled': '1 input:', ':root': '1 html:Sho', 'li:only-child': '0 ',
    'title:only-of-type': '1 title:Sho', 'td:empty': '0 ', 'p:lang(en)': '2 p:One|p:Two', 'a:link': '2 a:Nex|a:Ext',
    'div > *:first-child': '1 h1:Hel', 'LI': '5 li:a|li:b|li:c|li:d|li:e', 'ul>li:nth-child(3)': '1 li:c',
    'li:nth-of-type(even)': '2 li:b|li:d', 'p:containsOwn("One")': '1 p:One', 'h1:containsOwn("world")': '0 ',
    'li:matches(^[ab]$)': '2 li:a|li:b', '#main :input': '1 input:', 'svg path': '1 path:', '[class~="wide"]': '1 div:Hel',
    'a[href!="x"]': '2 a:Nex|a:Ext', 'INPUT[NAME=user]': '1 input:', 'a[HREF]': '2 a:Nex|a:Ext',
    'h1 em, ul li:first-child': '2 em:wor|li:a', 'li:first-child:last-child': '0 ', 'ul li:not(:first-child)': '4 li:b|li:c|li:d|li:e',
    // k6 matches these as nothing: type selectors are lower-cased, and what does not parse matches nothing
    'foreignObject': '0 ', 'div:has(> h1)': '0 ', '[data-x=1 i]': '0 ', '..bad': '0 ', 'li:nth-child(': '0 ', '': '0 ',
  };
  for (const sel of Object.keys(expect)) check(q(sel), { [sel]: (v) => v === expect[sel] || console.error(sel, 'gave', v) });
  check(doc.find('*').size(), { '* matches every element (52)': (n) => n === 52 });
  check(doc.find(':not(p)').size(), { ':not(p) (50)': (n) => n === 50 });
  check(doc.find('input:enabled').size(), { 'input:enabled (9)': (n) => n === 9 });
)JS");
    all_pass(run_html_script(f, server.url()), 69);
}

// k6 v0.48.0 printed the values in the checks (its fixture run, t3.js).
TEST_CASE("js html: the Selection API as k6's") {
    loadkit::target_server server;
    scratch s;
    auto f = with_fixture(s, R"JS(
  const m = doc.find('#main'), li = doc.find('li');
  const eq = (name, got, want) => check(got, { [name]: (v) => JSON.stringify(v) === JSON.stringify(want) || console.error(name, 'gave', JSON.stringify(v)) });
  eq('html', doc.find('p').html(), 'One&#39;s &#34;quoted&#34; <br/> line');
  eq('html of nothing', [doc.find('nothing').html(), doc.find('nothing').text(), doc.find('nothing').attr('x'), doc.find('p').attr('nope', 'dflt')], ['', '', undefined, 'dflt']);
  eq('render', [doc.find('pre').html(), doc.find('script').html(), doc.find('svg').html()], ['x', 'if (a &lt; b &amp;&amp; c &gt; &#34;d&#34;) {}', '<path d="M0"></path><foreignObject></foreignObject>']);
  eq('ul html', doc.find('ul').html(), '\n    <li class="item">a</li><li class="item odd">b</li><li>c</li><li class="item">d</li><li data-x="1">e</li>\n  ');
  eq('attr', [m.attr('class'), m.attr('data-user-id'), doc.find('a').attr('href')], ['box wide', '42', '/next?page=2#top']);
  eq('data', [m.data(), m.data('userId'), m.data('flag'), m.data('obj'), m.data('nope'), doc.find('h1').data(), li.last().data()],
     [{ userID: 42, flag: true, obj: { a: [1, 2] }, s: 'x y' }, 42, true, { a: [1, 2] }, undefined, {}, { x: 1 }]);
  eq('text', [doc.find('h1').text(), li.text(), doc.find('title').text(), doc.find('script').text()], ['Hello world', 'abcde', 'Shop & co', 'if (a < b && c > "d") {}']);
  eq('val', [doc.find('input[name=user]').val(), doc.find('input[name=empty]').val(), doc.find('input[name=cb2]').val(), doc.find('select[name=sel]').val(),
             doc.find('select[name=multi]').val(), doc.find('textarea').val(), doc.find('button').val(), doc.find('p').val(), doc.find('option').eq(0).val()],
     ['bob', '', 'on', 'B &amp; b', ['x', 'y'], 'Some &lt;text&gt;', 'yes', undefined, 'a']);
  eq('serialize', doc.find('form').serialize(), 'cb1=on&csrf=tok&empty=&multi=x&multi=y&r=2&sel=B+%26amp%3B+b&ta=Some+%26lt%3Btext%26gt%3B&user=bob');
  eq('serializeArray', doc.find('form').serializeArray(), [{ name: 'csrf', value: 'tok' }, { name: 'user', value: 'bob' }, { name: 'empty', value: '' }, { name: 'cb1', value: 'on' },
     { name: 'r', value: '2' }, { name: 'sel', value: 'B &amp; b' }, { name: 'multi', value: ['x', 'y'] }, { name: 'ta', value: 'Some &lt;text&gt;' }]);
  eq('serializeObject', doc.find('form').serializeObject().user, 'bob');
  eq('serialize inputs', doc.find('input').serialize(), 'cb1=on&csrf=tok&empty=&plain=&r=2&user=bob');
  eq('eq', [li.eq(-1).text(), li.eq(10).size(), li.eq(-10).size()], ['e', 0, 0]);
  eq('slice', [li.slice(1, 3).text(), li.slice(2).text(), li.slice(-2).text(), li.slice(1, 99).text()], ['bc', 'cde', 'de', 'bcde']);
  eq('filter', [li.filter('.item').text(), li.filter(doc.find('.odd')).text(), li.filter((i) => i % 2 === 0).text()], ['abd', 'b', 'ace']);
  eq('not', [li.not('.item').text(), li.not((i) => i > 1).text(), li.not(doc.find('.odd')).text()], ['ce', 'ab', 'acde']);
  eq('is', [li.is('.odd'), li.is('p'), li.is((i) => i === 4)], [true, false, true]);
  eq('has', [doc.find('div, ul, form').has('li').size(), doc.find('*').has('em').map((i, s) => s.get(0).nodeName())], [2, ['html', 'body', 'div', 'h1']]);
  eq('children', [m.children().size(), m.children('p').text(), doc.find('ul').children().size()], [10, 'One\'s "quoted"  lineTwo', 5]);
  eq('parent', [li.parent().size(), li.parent().attr('id'), doc.find('em').parent('h1').size(), doc.find('em').parent('p').size()], [1, 'list', 1, 0]);
  eq('parents', [doc.find('em').parents().map((i, s) => s.get(0).nodeName()), li.parents('div').size(), li.parents().size()], [['h1', 'div', 'body', 'html'], 1, 4]);
  eq('closest', [doc.find('em').closest('div').attr('id'), li.closest('li').size(), doc.find('em').closest('em').size(), doc.find('em').closest('nope').size()], ['main', 5, 1, 0]);
  eq('next', [li.first().next().text(), li.next().size(), li.next('.item').text(), li.first().nextAll().text(), li.first().nextAll('.item').text()], ['b', 4, 'bd', 'bcde', 'bd']);
  eq('prev', [li.last().prev().text(), li.last().prevAll().text(), li.last().prevAll('.item').text(), li.prev().size()], ['d', 'dcba', 'dba', 4]);
  eq('siblings', [doc.find('.odd').siblings().text(), doc.find('.odd').siblings('.item').text(), li.siblings().size()], ['acde', 'ad', 5]);
  eq('until', [li.first().nextUntil('.odd').size(), li.first().nextUntil('[data-x]').text(), li.last().prevUntil('.odd').text(),
               doc.find('em').parentsUntil('body').size(), li.first().nextUntil('[data-x]', '.item').text()], [0, 'bcd', 'dc', 2, 'bd']);
  eq('contents', [doc.find('h1').contents().size(), doc.find('h1').contents().map((i, s) => s.get(0).nodeName()), doc.find('h1').contents().first().text()], [2, ['#text', 'em'], 'Hello ']);
  eq('end', [doc.find('ul').find('li').end().attr('id'), doc.find('ul').end().size(), li.filter('.odd').end().size(), doc.end().size()], ['list', 1, 5, 0]);
  eq('add', [doc.find('h1').add('em').size(), doc.find('h1').add(li).size(), li.add('li').size(), doc.find('em').add('h1').map((i, s) => s.get(0).nodeName())], [2, 6, 5, ['em', 'h1']]);
  // k6 gives -1 for li.index(an li Element): its typed elements are not Elements to it
  eq('index', [doc.find('.odd').index(), li.index(), doc.find('.odd').index('li'), li.index(doc.find('.odd')), doc.find('h1').index(), doc.find('nothing').index()], [1, 0, 1, 1, 0, -1]);
  eq('get', [li.get().length, li.get(1).textContent(), li.get(-1).textContent(), li.get(5), li.toArray().length, li.toArray()[1].text()], [5, 'b', 'e', undefined, 5, 'b']);
  eq('size', [li.size(), doc.size(), li.length], [5, 1, undefined]);
  const each = [];
  li.each((i, e) => each.push(i + e.textContent() + e.nodeName()));
  eq('each', each, ['0ali', '1bli', '2cli', '3dli', '4eli']);
  eq('map', li.map((i, s) => s.text() + i), ['a0', 'b1', 'c2', 'd3', 'e4']);
  eq('find', [m.find('ul').find('li.item').size(), m.find(li).size(), doc.find('ul').find(doc.find('em')).size()], [3, 5, 0]);
  eq('document', [doc.text().length, doc.html().length, doc.find('html').attr('lang'), doc.find('body').children().size()], [187, 1830, 'en', 6]);
  eq('selectors in filter and is', [li.filter(':nth-child(2)').text(), li.is(':last-child'), doc.find('p').filter(':contains("Two")').size()], ['b', true, 1]);
  eq('JSON of a selection', JSON.stringify(doc), '{"url":""}');
  let threw = '';
  try { li.each('x'); } catch (e) { threw = String(e); }
  eq('each needs a function', threw.includes('each() must be a function'), true);
)JS");
    all_pass(run_html_script(f, server.url()), 39);
}

// k6 v0.48.0 printed the values in the checks (its fixture run, t4.js).
TEST_CASE("js html: Element objects as k6's") {
    loadkit::target_server server;
    scratch s;
    auto f = with_fixture(s, R"JS(
  const eq = (name, got, want) => check(got, { [name]: (v) => JSON.stringify(v) === JSON.stringify(want) || console.error(name, 'gave', JSON.stringify(v)) });
  const d = doc.find('#main').get(0);
  eq('element', [d.nodeName(), d.nodeType(), d.nodeValue(), d.id(), d.className(), d.classList(), d.lang(), d.getAttribute('data-s'), d.getAttribute('nope'), d.hasAttribute('id'), d.hasAttributes(), d.hasChildNodes()],
     ['div', 1, undefined, 'main', 'box wide', ['box', 'wide'], undefined, 'x y', undefined, true, true, true]);
  eq('tree', [d.childElementCount(), d.childNodes().length, d.children().length, d.firstChild().nodeName(), d.lastChild().nodeName(), d.firstElementChild().nodeName(), d.lastElementChild().nodeName()],
     [10, 19, 10, '#text', '#text', 'h1', 'input']);
  eq('around', [d.previousSibling().nodeName(), d.nextSibling().nodeName(), d.nextElementSibling().nodeName(), d.previousElementSibling(), d.parentNode().nodeName(), d.parentElement().nodeName(), d.ownerDocument().nodeName(), d.ownerDocument().nodeType()],
     ['#text', '#text', 'form', undefined, 'body', 'body', '#document', 9]);
  eq('queries', [d.namespaceURI(), d.isDefaultNamespace(), d.matches('div.box'), d.matches('p'), d.querySelectorAll('li').length, d.getElementsByClassName('item').length, d.getElementsByTagName('span').length, d.querySelector('nope')],
     ['http://www.w3.org/1999/xhtml', true, true, false, 5, 3, 2, undefined]);
  // k6 gives 'abcde' (the text of every match) and false, false, false: loadkit follows the DOM
  const li = doc.find('li').get(1);
  eq('dom', [d.querySelector('li').textContent(), d.contains(li), li.contains(d), d.contains(d), li.isSameNode(doc.find('.odd').get(0)), String(d), String(li)],
     ['a', true, false, false, true, '[object html.Node]', '[object html.Node]']);
  const an = d.getAttributeNode('id');
  eq('attribute node', [an.name, an.value, an.localName(), an.namespaceURI(), d.getAttributeNode('zz'), Object.keys(d.attributes())], ['id', 'main', 'id', 'http://www.w3.org/1999/xhtml', undefined, ['id', 'class', 'data-user-id', 'data-flag', 'data-obj', 'data-s']]);
  const t = doc.find('h1').contents().get(0);
  eq('text node', [t.nodeName(), t.nodeType(), t.nodeValue(), t.textContent(), String(t)], ['#text', 3, 'Hello ', 'Hello ', '[object #text]']);
  const a = doc.find('a').get(1);
  eq('anchor', [a.href(), a.host(), a.hostname(), a.port(), a.username(), a.password(), a.origin(), a.pathname(), a.protocol(), a.search(), a.hash(), String(a), a.text(), a.rel(), a.target()],
     ['https://user:pw@example.com:8080/x/y?q=1', 'example.com:8080', 'example.com', '8080', 'user', 'pw', 'https://example.com:8080', '/x/y', 'https', '?q=1', '', 'https://user:pw@example.com:8080/x/y?q=1', 'Ext', '', '']);
  const a0 = doc.find('a').get(0);
  eq('relative anchor', [a0.href(), a0.host(), a0.protocol(), a0.origin(), a0.relList(), a0.rel(), a0.hash(), a0.search(), a0.pathname()],
     ['/next?page=2#top', '', ':', '', ['next', 'nofollow'], 'next nofollow', '#top', '?page=2', '/next']);
  const form = doc.find('form').get(0);
  eq('form', [form.action(), form.method(), form.elements().length, form.length(), form.name(), form.enctype()], ['/submit', 'post', 13, 13, '', 'application/x-www-form-urlencoded']);
  const inp = doc.find('input[name=user]').get(0);
  eq('input', [inp.type(), inp.name(), inp.value(), inp.checked(), inp.disabled(), inp.form().nodeName(), inp.formAction(), inp.formMethod(), inp.formEnctype(), inp.maxLength(), inp.size(), inp.defaultValue()],
     ['text', 'user', 'bob', false, false, 'form', '/submit', 'post', 'application/x-www-form-urlencoded', -1, 0, 'bob']);
  eq('checkbox', [doc.find('input[name=cb1]').get(0).type(), doc.find('input[name=cb1]').get(0).checked(), doc.find('input[name=dis]').get(0).disabled()], ['checkbox', true, true]);
  const sel = doc.find('select[name=sel]').get(0), multi = doc.find('select[name=multi]').get(0);
  eq('select', [sel.type(), sel.length(), sel.options().length, sel.selectedIndex(), sel.value(), sel.size(), sel.name(), multi.type(), multi.selectedOptions().length],
     ['select', 2, 2, 1, 'B &amp; b', 1, 'sel', 'select-multiple', 2]);
  const op = doc.find('option').get(1);
  eq('option', [op.value(), op.text(), op.label(), op.index(), op.selected(), op.disabled(), op.form().nodeName()], ['B &amp; b', 'B & b', 'B & b', 1, true, false, 'form']);
  const b = doc.find('button').get(0), ta = doc.find('textarea').get(0), img = doc.find('img').get(0), tr = doc.find('tr').get(0);
  eq('others', [b.type(), b.value(), b.name(), ta.type(), ta.value(), ta.rows(), img.src(), img.alt(), img.width(), img.height(),
                tr.cells().length, tr.rowIndex(), doc.find('td').get(0).colSpan(), doc.find('table').get(0).rows().length, doc.find('table').get(0).tHead(),
                doc.find('title').get(0).text(), doc.find('meta').get(0).content(), doc.find('meta').get(0).name()],
     ['submit', 'yes', 'go', 'textarea', '', 0, '/i.png', 'pic', 0, 0, 2, 0, 1, 1, undefined, 'Shop & co', 'd', 'description']);
  // k6: 300 150 2 fieldset 2 1 1 4 0.25 0.25 1 0 -1 /a
  const more = parseHTML('<canvas width="300"></canvas><datalist><option value="1"><option value="2"></datalist><fieldset><input name="a"><select></select></fieldset>' +
    '<map name="m"><area href="/a"></map><video><track src="t.vtt"></video><progress max="4" value="1"></progress><progress></progress>');
  const g = (sel, i) => more.find(sel).get(i || 0);
  eq('more elements', [g('canvas').width(), g('canvas').height(), g('datalist').options().length, g('fieldset').type(), g('fieldset').elements().length, g('map').areas().length,
                       g('video').textTracks().length, g('progress').max(), g('progress').value(), g('progress').position(), g('progress', 1).max(), g('progress', 1).value(),
                       g('progress', 1).position(), g('area').href()],
     [300, 150, 2, 'fieldset', 2, 1, 1, 4, 0.25, 0.25, 1, 0, -1, '/a']);
)JS");
    all_pass(run_html_script(f, server.url()), 16);
}

// res.html(), res.submitForm() and res.clickLink() against the built-in
// target's /echo (the page is set as the body of an /echo response, so links
// and actions resolve against the target's URL). k6 v0.48.0, the same script
// against `loadkit serve`: res.html('a').size() 2; the #go link's href()
// http://HOST/echo?from=link#frag; the POST form's body
// btn=Sign+in&csrf=t+1&user=amy to /echo?x=1; the GET form's query
// go=yes&q=a+b&s=1 with the params' header; a form without action submits to
// the page's URL with its query replaced (k=v); clickLink() follows the first
// a[href]; the errors "no form found for selector '#none' in response
// 'http://HOST/echo?orig=1'" and "no valid href attribute value found on
// element 'form' in response ...".
TEST_CASE("js html: res.html(), res.submitForm() and res.clickLink() as k6's") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("forms.js", R"JS(
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 1, iterations: 2 };
const PAGE = `<html><body><a href="/nothing">x</a><a id="go" href="echo?from=link#frag">Go</a>
<form id="login" action="/echo?x=1" method="post"><input name="user" value="bob"><input type="hidden" name="csrf" value="t 1"><input type="submit" name="btn" value="Sign in"></form>
<form id="search" action="echo#f"><input name="q" value="a b"><select name="s"><option value="1" selected>1</option></select><button type="submit" name="go" value="yes">Go</button></form>
<form id="self"><input name="k" value="v"></form></body></html>`;
function page() {
  const res = http.get(`${__ENV.TARGET}/echo?orig=1`);
  res.body = PAGE;
  return res;
}
export default function () {
  const B = __ENV.TARGET, res = page();
  check(res.html('a').size(), { 'res.html(selector)': (n) => n === 2 });
  check(res.html('#go').get(0).href(), { 'hrefs resolve against the response URL': (h) => h === `${B}/echo?from=link#frag` });
  check(res.html('form').get(0).action(), { 'form actions too': (a) => a === `${B}/echo?x=1` });
  check(res.html().find('#go').attr('href'), { 'attr() as written': (h) => h === 'echo?from=link#frag' });
  const post = res.submitForm({ formSelector: '#login', fields: { user: 'amy' } }).json();
  check(post, { 'a POST form, its submit button and fields': (j) => j.method === 'POST' && j.path === '/echo' && j.query === 'x=1' && j.body === 'btn=Sign+in&csrf=t+1&user=amy' });
  const get = res.submitForm({ formSelector: '#search', params: { headers: { 'X-T': '1' } } }).json();
  check(get, { 'a GET form in the query, with params': (j) => j.method === 'GET' && j.query === 'go=yes&q=a+b&s=1' && j.headers['X-T'] === '1' });
  check(res.submitForm({ formSelector: '#self', submitSelector: 'nope' }).json(), { 'no action: the page URL': (j) => j.query === 'k=v' });
  check(res.clickLink({ selector: '#go' }).json(), { 'clickLink(selector)': (j) => j.path === '/echo' && j.query === 'from=link' });
  check(res.clickLink().status, { 'clickLink(): the first a[href]': (s) => s === 404 });
  let err = '';
  try { res.submitForm({ formSelector: '#none' }); } catch (e) { err = String(e); }
  check(err, { 'no form': (e) => e.includes(`no form found for selector '#none' in response '${B}/echo?orig=1'`) });
  err = '';
  try { res.clickLink({ selector: 'form' }); } catch (e) { err = String(e); }
  check(err, { 'no href': (e) => e.includes("no valid href attribute value found on element 'form'") });
}
)JS");
    auto r = run_html_script(f, server.url());
    all_pass(r, 2 * 11);
    CHECK(server.count("/echo") == 2 * 5);
    CHECK(server.count("/nothing") == 2);
}

// Deep and wide documents: nothing walks the tree recursively (gumbo's own
// recursive free included: parse.hpp), and selectors with combinators or
// positions are linear (a quadratic matcher would not finish here).
TEST_CASE("js html: deep and wide documents") {
    loadkit::target_server server;
    scratch s;
    auto f = s.write("deep.js", R"JS(
import { parseHTML } from 'k6/html';
import { check } from 'k6';
export const options = { vus: 1, iterations: 1 };
export default function () {
  const N = 20000;  // big enough that a quadratic matcher or a recursive walk shows (gumbo is quadratic in depth)
  const deep = parseHTML('<div>'.repeat(N) + '<span class="x">deep</span>');
  check(deep.find('div').size(), { 'every div': (n) => n === N });
  check(deep.find('div span.x').size(), { 'descendant': (n) => n === 1 });
  check(deep.find('p span').size(), { 'no match, no walk per ancestor': (n) => n === 0 });
  check(deep.find('body > div div > span').size(), { 'child and descendant': (n) => n === 1 });
  check(deep.find('span').parents().size(), { 'parents': (n) => n === N + 2 });
  check(deep.html().length, { 'html()': (n) => n === 11 * N + 66 });
  check(deep.text(), { 'text()': (t) => t === 'deep' });
  const wide = parseHTML('<ul>' + '<li>x</li>'.repeat(N) + '</ul>');
  check(wide.find('li:nth-child(3n)').size(), { ':nth-child': (n) => n === Math.floor(N / 3) });
  check(wide.find('li:nth-last-of-type(2)').size(), { ':nth-last-of-type': (n) => n === 1 });
  check(wide.find('li ~ li').size(), { 'sibling': (n) => n === N - 1 });
  check(wide.find('li + li:last-child').size(), { 'adjacent': (n) => n === 1 });
}
)JS");
    all_pass(run_html_script(f, server.url()), 11);
}

}  // namespace LOADKIT_TEST_UNIT
