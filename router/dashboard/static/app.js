// The shell: navigation (a left nav, a top bar with a menu on a phone), the hash router, and the
// status line (version, config file, live stream). Each page is its own module under pages/.

import { render } from "./vendor/preact/preact.js";
import { useEffect, useRef, useState } from "./vendor/preact/hooks.js";
import { api, onLiveState } from "./api.js";
import { html } from "./ui.js";
import { ChatPage } from "./pages/chat.js";
import { DecisionsPage } from "./pages/decisions.js";
import { ModelsPage } from "./pages/models.js";
import { OverviewPage } from "./pages/overview.js";
import { RoutingPage } from "./pages/routing.js";
import { RulesPage } from "./pages/rules.js";

const PAGES = [
  { path: "", title: "Overview", component: OverviewPage },
  { path: "models", title: "Local Models", component: ModelsPage },
  { path: "routing", title: "Routing", component: RoutingPage },
  { path: "rules", title: "Rules", component: RulesPage },
  { path: "decisions", title: "Decisions", component: DecisionsPage },
  { path: "chat", title: "Chat", component: ChatPage },
];

/** ``#/decisions/ID`` → {path: "decisions", param: "ID"}. */
function parseHash() {
  const [path = "", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES.find((candidate) => candidate.path === path) || PAGES[0];
  return { page, param: rest.length ? decodeURIComponent(rest.join("/")) : null };
}

function useStatus() {
  const [status, setStatus] = useState(null);
  useEffect(() => {
    const load = () =>
      api("/api/status")
        .then(setStatus)
        .catch(() => setStatus(null));
    load();
    window.addEventListener("cligate:changed", load);
    return () => window.removeEventListener("cligate:changed", load);
  }, []);
  return status;
}

function Nav({ current }) {
  const [open, setOpen] = useState(false);
  const [live, setLive] = useState(false);
  const status = useStatus();
  useEffect(() => onLiveState(setLive), []);
  useEffect(() => setOpen(false), [current]);
  return html`<nav class="nav ${open ? "open" : ""}" aria-label="Main">
    <div class="nav-bar">
      <a class="brand" href="#/"><span class="brand-mark" aria-hidden="true"></span>cligate</a>
      <button
        type="button"
        class="menu-button small"
        aria-expanded=${open}
        aria-controls="nav-links"
        onClick=${() => setOpen(!open)}
      >
        ${open ? "Close" : "Menu"}
      </button>
    </div>
    <ul class="nav-links" id="nav-links">
      ${PAGES.map(
        (page) => html`<li>
          <a href=${`#/${page.path}`} aria-current=${page === current ? "page" : undefined}>${page.title}</a>
        </li>`,
      )}
    </ul>
    <div class="nav-footer">
      <div class="row" title=${live ? "New decisions show as they happen" : "Reconnecting to cligate…"}>
        <span class="dot" style=${`color: var(${live ? "--ok" : "--warn"})`}></span>
        ${live ? "Live" : "Reconnecting…"}
      </div>
      ${status &&
      html`<div>
          Local routing <strong>${status.local_routing ? "on" : "off"}</strong>
        </div>
        <div>cligate ${status.version}</div>
        <div class="mono" title="The config file this dashboard edits">${status.config_path}</div>`}
    </div>
  </nav>`;
}

function App() {
  const [route, setRoute] = useState(parseHash);
  const main = useRef(null);
  const first = useRef(true);
  useEffect(() => {
    const changed = () => setRoute(parseHash());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  useEffect(() => {
    document.title = `${route.page.title} · cligate`;
    if (first.current) {
      first.current = false;
    } else {
      main.current?.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }, [route.page]);
  const Page = route.page.component;
  return html`<div class="shell">
    <${Nav} current=${route.page} />
    <main class="main" id="main" tabindex="-1" ref=${main}>
      <${Page} param=${route.param} />
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
