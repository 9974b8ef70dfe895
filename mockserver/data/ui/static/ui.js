/* mockserver dashboard: the live parts (journal tail, ticking clock). Everything else is
   plain HTML and works without this file. No framework, no build step, no network
   beyond this server. */
"use strict";

(function () {
  const FEED = "/_mock/ui/feed";  // under /_mock/ui: the browser's credentials apply

  function text(tag, value, className) {
    const cell = document.createElement(tag);
    cell.textContent = value;  // never innerHTML: journal rows hold client text
    if (className) cell.className = className;
    return cell;
  }

  function mask(token) {
    if (!token) return "—";
    if (token.length <= 6) return token.slice(0, 1) + "•••";
    return token.slice(0, 4) + "•••" + token.slice(-2);
  }

  function statusClass(status) {
    if (status === 0 || status >= 500) return "s5";
    if (status >= 400) return "s4";
    if (status >= 300) return "s3";
    return "s2";
  }

  function journalRow(entry, entryUrl) {
    const row = document.createElement("tr");
    row.className = statusClass(entry.status) + " fresh";
    const id = document.createElement("td");
    const link = document.createElement("a");
    link.href = entryUrl + entry.id;
    link.textContent = entry.id;
    id.appendChild(link);
    row.appendChild(id);
    row.appendChild(text("td", entry.at.slice(0, 19).replace("T", " ")));
    row.appendChild(text("td", entry.method));
    const path = text("td", "", "path");
    path.appendChild(text("code", entry.path + (entry.query ? "?" + entry.query : "")));
    row.appendChild(path);
    row.appendChild(text("td", entry.status || "dropped", "status"));
    row.appendChild(text("td", entry.duration_ms.toFixed(1), "num"));
    const token = text("td", "");
    token.appendChild(text("code", mask(entry.token)));
    row.appendChild(token);
    const fault = text("td", "");
    if (entry.fault_id) fault.appendChild(text("span", "fault #" + entry.fault_id, "badge warn"));
    row.appendChild(fault);
    row.appendChild(text("td", entry.retry_after === null ? "" : String(entry.retry_after), "num"));
    return row;
  }

  function tailJournal(table) {
    const body = table.tBodies[0];
    const filters = JSON.parse(table.dataset.filters || "{}");
    let since = Number(table.dataset.since || 0);
    async function poll() {
      const query = new URLSearchParams({...filters, since: String(since), limit: "200"});
      try {
        const reply = await fetch(FEED + "/requests?" + query, {cache: "no-store"});
        if (reply.ok) {
          const page = await reply.json();
          const placeholder = body.querySelector("tr.empty-row");
          if (page.requests.length && placeholder) placeholder.remove();
          for (const entry of page.requests) {
            body.insertBefore(journalRow(entry, table.dataset.entryUrl), body.firstChild);
          }
          while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
          since = page.next_since || since;
        }
      } catch (error) { /* the server restarted or went away: try again later */ }
      setTimeout(poll, 1000);
    }
    poll();
  }

  function tickClock(now, mode) {
    async function poll() {
      try {
        const reply = await fetch(FEED + "/clock", {cache: "no-store"});
        if (reply.ok) {
          const clock = await reply.json();
          now.textContent = clock.now.slice(0, 19).replace("T", " ");
          mode.textContent = clock.frozen ? "frozen" : "real time";
          mode.className = "pill " + (clock.frozen ? "frozen" : "running");
        }
      } catch (error) { /* keep the last reading */ }
      setTimeout(poll, 2000);
    }
    setTimeout(poll, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const table = document.querySelector("[data-journal-tail]");
    if (table) tailJournal(table);
    const now = document.querySelector("[data-clock-now]");
    const mode = document.querySelector("[data-clock-mode]");
    if (now && mode) tickClock(now, mode);
  });
})();
