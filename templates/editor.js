// gfd-kg: puts YASGUI (served from /static/yasgui/) in place of the plain query form of
// the landing page and of /sparql. Its configuration is the page's JSON data block
// #editor-config (gfd_kg/web/editor.py). Without JavaScript, or without YASGUI, the plain
// form stays and works as before.
(function () {
  "use strict";
  var block = document.getElementById("editor-config");
  var form = document.querySelector("form.query");
  if (!block || !form || typeof window.Yasgui !== "function") {
    return;
  }
  var config = JSON.parse(block.textContent);
  var Yasgui = window.Yasgui;
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var textarea = form.querySelector("textarea");
  var first = textarea && textarea.value.trim() ? textarea.value : config.query;

  // the prefix completion offers the dataset's prefixes (and adds their PREFIX line)
  var offered = Object.keys(config.prefixes).sort().map(function (p) {
    return p + ": <" + config.prefixes[p] + ">";
  });
  Yasgui.Yasqe.forkAutocompleter("prefixes", {
    name: "datasetPrefixes",
    persistenceId: null,
    get: function () { return offered; }
  }, false);

  var editor = document.createElement("div");
  editor.className = "editor";
  editor.id = "editor";
  var picker = document.createElement("p");
  picker.className = "editor-examples";
  var label = document.createElement("label");
  label.htmlFor = "editor-examples";
  label.textContent = "Open an example query: ";
  var select = document.createElement("select");
  select.id = "editor-examples";
  var none = document.createElement("option");
  none.value = "";
  none.textContent = "(choose one of " + config.examples.length + ")";
  select.appendChild(none);
  var byName = {};
  config.examples.forEach(function (example) {
    byName[example.name] = example;
    var option = document.createElement("option");
    option.value = example.name;
    option.textContent = example.title;
    option.title = example.why;
    select.appendChild(option);
  });
  var why = document.createElement("p");
  why.className = "editor-why";
  why.id = "editor-why";
  picker.appendChild(label);
  picker.appendChild(select);
  var host = document.createElement("div");
  editor.appendChild(picker);
  editor.appendChild(why);
  editor.appendChild(host);
  form.parentNode.insertBefore(editor, form);
  form.hidden = true;

  // a link YASGUI shared (its query and endpoint, after # or ?) opens as YASGUI's tab and
  // runs there, always on this site's endpoint; the page's own ?query= links fill the
  // editor only
  var shared = [window.location.search, window.location.hash].some(function (part) {
    var params = new URLSearchParams(part.slice(1));
    return params.has("query") && params.has("endpoint");
  });
  var yasgui = new Yasgui(host, {
    populateFromUrl: shared ? function (tab) {
      tab.requestConfig = Object.assign({}, tab.requestConfig, { endpoint: endpoint });
      return tab;
    } : false,
    requestConfig: { endpoint: endpoint, method: "POST" },
    autofocus: false,  // the page opens at its top, not scrolled to the editor
    copyEndpointOnNewTab: true,
    persistenceId: null,
    endpointCatalogueOptions: {
      getData: function () { return [{ endpoint: endpoint }]; }
    },
    yasqe: {
      autocompleters: ["datasetPrefixes", "variables"],
      persistenceId: null
    },
    yasr: {
      prefixes: config.prefixes,
      defaultPlugin: "table",
      pluginOrder: ["table", "response"],
      persistenceId: null
    }
  });

  function hideServerAnswer() {
    document.querySelectorAll(".server-answer").forEach(function (el) { el.hidden = true; });
  }

  function open(example) {
    why.textContent = example.why;
    yasgui.addTab(true, {
      name: example.name,
      yasqe: { value: example.query },
      requestConfig: { endpoint: endpoint, method: "POST" }
    });
    editor.scrollIntoView({ block: "start" });
  }

  var tab = yasgui.getTab();
  if (shared) {
    hideServerAnswer();
  } else if (tab && first) {
    tab.setQuery(first);
  }
  select.addEventListener("change", function () {
    var example = byName[select.value];
    if (example) {
      open(example);
    }
  });
  // the page's own links to the examples open them in the editor too
  document.querySelectorAll("a[data-example]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var example = byName[link.getAttribute("data-example")];
      if (example) {
        event.preventDefault();
        select.value = example.name;
        open(example);
      }
    });
  });
  // a query run in the editor answers in the editor: the page's answer is of the old one
  yasgui.on("query", hideServerAnswer);
  window.gfdEditor = yasgui;
}());
