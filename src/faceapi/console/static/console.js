// Enhancements for every console page; without JavaScript the pages still work.
// - Copy buttons (hidden until this runs) copy the text of the element they name.
// - The page that shows a new key remembers it in this tab's sessionStorage, with the account
//   it belongs to, so the Try it page can fill it in. It never goes back to the server;
//   closing the tab, signing out or any page of another account forgets it.
"use strict";

const KEY_STORAGE = "faceapi.console.key";

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host has no clipboard API: fall back to a selection.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("the browser refused to copy");
}

function enableCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    const label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await copyText(source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        window.getSelection().selectAllChildren(source);
        button.textContent = "Press Ctrl+C to copy";
      }
      setTimeout(() => { button.textContent = label; }, 2500);
    });
  }
}

// The key remembered for the account this page is of ("" when signed out), or null.
function rememberedKey() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY_STORAGE) || "null");
    if (saved && saved.account === document.body.dataset.account) return saved.key;
    sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage can be switched off, or hold something else: nothing is remembered.
  }
  return null;
}

function rememberNewKey() {
  const key = document.querySelector("[data-remember-key]");
  if (!key) return;
  try {
    const saved = { account: document.body.dataset.account, key: key.textContent.trim() };
    sessionStorage.setItem(KEY_STORAGE, JSON.stringify(saved));
  } catch {
    // Storage can be switched off; the Try it page then asks for the key.
  }
}

enableCopyButtons();
rememberedKey(); // on a page of another account, or signed out, this forgets the key
rememberNewKey();
