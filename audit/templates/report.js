/* report.html in a browser: search, filters, sortable tables, links, a lookup over all violations.
   Plain JS, no library, nothing fetched (the page's Content-Security-Policy forbids it). Every
   value from the export is written with textContent, never as markup. */
(function () {
  "use strict";
  var MAX_HITS = 2000;
  var MAX_LOOKUP_ROWS = 500;
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var T = data.text;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var $ = function (id) { return document.getElementById(id); };

  function fmt(text, fields) {
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(fields, key) ? String(fields[key]) : all;
    });
  }
  function num(n) { return Number(n).toLocaleString("en-US"); }  // 12,345 as the report writes it
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  /* ---- search over the whole report ---------------------------------------------------- */
  var hits = [];
  var current = -1;

  function clearHits() {
    var parents = [];
    hits.forEach(function (mark) {
      var parent = mark.parentNode;
      if (!parent) { return; }
      parent.replaceChild(document.createTextNode(mark.textContent), mark);
      if (parents.indexOf(parent) < 0) { parents.push(parent); }
    });
    parents.forEach(function (p) { p.normalize(); });
    hits = [];
    current = -1;
  }

  function search(query) {
    clearHits();
    var q = query.trim().toLowerCase();
    var status = $("tools-hits");
    if (!q) { status.textContent = ""; return; }
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentElement;
        if (!parent || parent.closest("script, style, #report-tools, [hidden]")) {
          return NodeFilter.FILTER_REJECT;
        }
        return node.nodeValue.toLowerCase().indexOf(q) >= 0 ? NodeFilter.FILTER_ACCEPT
          : NodeFilter.FILTER_SKIP;
      }
    });
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    nodes.forEach(function (node) {
      if (hits.length >= MAX_HITS) { return; }
      var text = node.nodeValue;
      var lower = text.toLowerCase();
      var frag = document.createDocumentFragment();
      var pos = 0;
      var at = lower.indexOf(q);
      while (at >= 0 && hits.length < MAX_HITS) {
        frag.appendChild(document.createTextNode(text.slice(pos, at)));
        var mark = el("mark", "hit", text.slice(at, at + q.length));
        frag.appendChild(mark);
        hits.push(mark);
        pos = at + q.length;
        at = lower.indexOf(q, pos);
      }
      frag.appendChild(document.createTextNode(text.slice(pos)));
      node.parentNode.replaceChild(frag, node);
    });
    status.textContent = hits.length ? fmt(T.matches, {n: num(hits.length) + (hits.length >= MAX_HITS ? "+" : "")})
      : T.no_match;
    if (hits.length) { go(0); }
  }

  function go(i) {
    if (!hits.length) { return; }
    if (current >= 0 && hits[current]) { hits[current].classList.remove("current"); }
    current = (i + hits.length) % hits.length;
    hits[current].classList.add("current");
    hits[current].scrollIntoView({block: "center"});
    $("tools-hits").textContent = fmt(T.matches, {n: num(current + 1) + " / " + num(hits.length)});
  }

  var timer = null;
  $("tools-q").addEventListener("input", function (event) {
    clearTimeout(timer);
    timer = setTimeout(function () { search(event.target.value); }, 250);
  });
  $("tools-q").addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(timer);
      if (!hits.length || event.target.dataset.searched !== event.target.value) {
        event.target.dataset.searched = event.target.value;
        search(event.target.value);
      } else {
        go(current + (event.shiftKey ? -1 : 1));
      }
    }
  });
  $("tools-next").addEventListener("click", function () { go(current + 1); });
  $("tools-prev").addEventListener("click", function () { go(current - 1); });

  /* ---- filter findings by severity, norm and rule ----------------------------------------- */
  var findings = document.querySelectorAll("[data-finding]");

  function applyFilters() {
    var severity = $("filter-severity").value;
    var norm = $("filter-norm").value;
    var rule = $("filter-rule").value;
    var shown = 0;
    each(findings, function (item) {
      var keep = (!severity || item.dataset.severity === severity) &&
        (!norm || (" " + item.dataset.norms + " ").indexOf(" " + norm + " ") >= 0) &&
        (!rule || item.dataset.rule === rule);
      item.hidden = !keep;
      if (keep) { shown += 1; }
    });
    var active = severity || norm || rule;
    $("filter-status").textContent = active ? fmt(T.shown, {shown: num(shown), total: num(findings.length)}) : "";
    if ($("tools-q").value.trim()) { search($("tools-q").value); }
  }
  ["filter-severity", "filter-norm", "filter-rule"].forEach(function (id) {
    $(id).addEventListener("change", applyFilters);
  });
  $("filter-reset").addEventListener("click", function () {
    $("filter-severity").value = "";
    $("filter-norm").value = "";
    $("filter-rule").value = "";
    applyFilters();
  });

  /* ---- sortable tables: click a header ------------------------------------------------------ */
  function number(text) {
    var t = text.replace(/[,\s\u00a0]/g, "").replace(/^[<>≤≥~]/, "").replace("\u2212", "-");
    var m = /^([-+]?\d+(?:\.\d+)?)(%|x|×)?$/.exec(t);
    return m ? parseFloat(m[1]) : null;
  }
  function empty(text) { return text === "" || text === "\u2013" || text === "-"; }

  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var descending = th.getAttribute("aria-sort") === "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (row) { return row.cells[column].textContent.trim(); });
    var numeric = keys.every(function (k) { return empty(k) || number(k) !== null; });
    var order = rows.map(function (row, i) { return i; });
    order.sort(function (a, b) {
      var x = keys[a];
      var y = keys[b];
      if (empty(x) || empty(y)) { return empty(x) === empty(y) ? a - b : (empty(x) ? 1 : -1); }
      var c = numeric ? number(x) - number(y) : x.localeCompare(y, data.lang, {numeric: true});
      return (descending ? -c : c) || a - b;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
    each(th.parentNode.cells, function (cell) { cell.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  each(document.querySelectorAll("table.data"), function (table) {
    var head = table.tHead;
    if (!head || head.rows.length !== 1 || table.tBodies.length !== 1) { return; }
    var cells = head.rows[0].cells;
    var width = cells.length;
    var plain = Array.prototype.every.call(cells, function (c) { return c.colSpan === 1; }) &&
      Array.prototype.every.call(table.tBodies[0].rows, function (row) {
        return row.cells.length === width &&
          Array.prototype.every.call(row.cells, function (c) { return c.colSpan === 1 && c.rowSpan === 1; });
      });
    if (!plain || table.tBodies[0].rows.length < 2) { return; }
    table.classList.add("sortable");
    each(cells, function (th, column) {
      th.tabIndex = 0;
      th.title = T.sort;
      th.setAttribute("aria-sort", "none");
      th.addEventListener("click", function () { sortBy(table, column, th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, column, th); }
      });
    });
  });

  /* ---- rule ids in lists link to their finding ----------------------------------------------- */
  each(document.querySelectorAll(".rule-ids"), function (cell) {
    if (cell.querySelector("a")) { return; }
    var parts = cell.textContent.split(/(,\s*)/);
    if (!parts.some(function (p) { return $("finding-" + p.trim()); })) { return; }
    cell.textContent = "";
    parts.forEach(function (part) {
      var id = part.trim();
      if (id && $("finding-" + id)) {
        var link = el("a", "", part);
        link.href = "#finding-" + id;
        cell.appendChild(link);
      } else {
        cell.appendChild(document.createTextNode(part));
      }
    });
  });

  /* ---- client or account lookup over every violating record ------------------------------- */
  function lookup(query) {
    var q = query.trim().toLowerCase();
    var box = $("lookup-results");
    var status = $("lookup-status");
    box.textContent = "";
    if (!q) { box.hidden = true; status.textContent = ""; return; }
    var exact = [];
    var partial = [];
    data.lookup.rules.forEach(function (rule) {
      rule.rows.forEach(function (row) {
        var isExact = rule.ids.some(function (i) { return String(row[i]).toLowerCase() === q; });
        if (isExact) { exact.push([rule, row]); return; }
        if (q.length >= 3 && row.some(function (v) { return String(v).toLowerCase().indexOf(q) >= 0; })) {
          partial.push([rule, row]);
        }
      });
    });
    var found = exact.concat(partial);
    var parts = [found.length ? fmt(T.lookup_found, {n: num(found.length), exact: num(exact.length)})
      : fmt(T.lookup_none, {q: query.trim()})];
    if (data.lookup.included < data.lookup.total) {
      parts.push(fmt(T.lookup_capped, {included: num(data.lookup.included), total: num(data.lookup.total)}));
    }
    status.textContent = parts.join(" ");
    box.hidden = !found.length;
    if (!found.length) { return; }
    var table = el("table", "data lookup");
    var head = table.createTHead().insertRow();
    [T.col_rule, T.col_severity, T.col_record].forEach(function (label) { head.appendChild(el("th", "", label)); });
    var body = table.createTBody();
    found.slice(0, MAX_LOOKUP_ROWS).forEach(function (item, i) {
      var rule = item[0];
      var row = item[1];
      var tr = body.insertRow();
      if (i >= exact.length) { tr.className = "lookup-partial"; tr.title = T.lookup_partial; }
      var first = tr.insertCell();
      var link = el("a", "mono-id", rule.id);
      link.href = "#" + rule.anchor;
      first.appendChild(link);
      first.appendChild(el("span", "th-sub", rule.title));
      var sev = tr.insertCell();
      sev.appendChild(el("span", "badge sev-" + rule.severity, data.severity[rule.severity] || rule.severity));
      var record = tr.insertCell();
      var list = el("dl", "lookup-record");
      rule.columns.forEach(function (name, c) {
        var pair = el("div", rule.ids.indexOf(c) >= 0 ? "lookup-id" : "");
        pair.appendChild(el("dt", "", name));
        pair.appendChild(el("dd", "", row[c]));
        list.appendChild(pair);
      });
      record.appendChild(list);
    });
    box.appendChild(table);
    if (found.length > MAX_LOOKUP_ROWS) {
      box.appendChild(el("p", "table-note", fmt(T.lookup_more, {shown: num(MAX_LOOKUP_ROWS), n: num(found.length)})));
    }
  }
  $("lookup-form").addEventListener("submit", function (event) {
    event.preventDefault();
    lookup($("lookup-q").value);
  });

  document.documentElement.classList.add("tools-ready");
}());
