// The Admin Portal's script: live search, the customData editor's check, copy
// buttons and the member picker. Every page works without it.
"use strict";

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// A fragment of a portal page; a session that has ended goes to the sign-in page.
async function fetchFragment(url, signal) {
  const response = await fetch(url, { credentials: "same-origin", signal });
  if (response.redirected && new URL(response.url).pathname === "/admin/sign-in") {
    window.location.assign(response.url);
    return null;
  }
  if (!response.ok) {
    return null;
  }
  return response.text();
}

function liveSearch(form) {
  const target = document.getElementById(form.dataset.liveSearch);
  const box = form.querySelector("input[type=search]");
  if (!target || !box) return;
  let pending = null;
  const run = debounce(async () => {
    const params = new URLSearchParams(new FormData(form));
    params.delete("cursor");
    const shown = form.action + "?" + params.toString();
    params.set("partial", "1");
    if (pending) pending.abort();
    pending = new AbortController();
    target.setAttribute("aria-busy", "true");
    try {
      const html = await fetchFragment(form.action + "?" + params.toString(), pending.signal);
      if (html !== null) {
        target.innerHTML = html;
        history.replaceState(null, "", shown);
      }
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    } finally {
      target.removeAttribute("aria-busy");
    }
  }, 200);
  // One or two characters cannot use the trigram index: they are searched on
  // Enter, not while typing.
  box.addEventListener("input", () => {
    const length = box.value.trim().length;
    if (length === 0 || length >= 3) run();
  });
}

function jsonEditor(form) {
  const area = form.querySelector("textarea");
  const message = document.getElementById(area.id + "-error");
  const button = form.querySelector("button[type=submit]");
  const check = () => {
    const text = area.value.trim();
    let problem = "";
    if (text !== "") {
      try {
        const value = JSON.parse(text);
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          problem = "customData must be a JSON object ({ … }).";
        }
      } catch (error) {
        problem = "This is not valid JSON: " + error.message;
      }
    }
    message.textContent = problem;
    message.hidden = problem === "";
    if (problem) {
      area.setAttribute("aria-invalid", "true");
    } else {
      area.removeAttribute("aria-invalid");
    }
    button.disabled = problem !== "";
    return problem === "";
  };
  area.addEventListener("input", check);
  form.addEventListener("submit", (event) => {
    if (!check()) {
      event.preventDefault();
      area.focus();
    }
  });
}

function copyButton(button) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (error) {
      document.execCommand("copy");
    }
    button.textContent = "Copied";
  });
}

function memberPicker(form) {
  const input = form.querySelector("input[list]");
  const list = document.getElementById(input.getAttribute("list"));
  let pending = null;
  input.addEventListener("input", debounce(async () => {
    if (input.value.trim().length < 2) return;
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const html = await fetchFragment(
        form.dataset.picker + "?q=" + encodeURIComponent(input.value.trim()),
        pending.signal,
      );
      if (html !== null) list.innerHTML = html;
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }, 200));
}

document.querySelectorAll("form[data-live-search]").forEach(liveSearch);
document.querySelectorAll("form[data-json-editor]").forEach(jsonEditor);
document.querySelectorAll("button[data-copy]").forEach(copyButton);
document.querySelectorAll("form[data-picker]").forEach(memberPicker);
