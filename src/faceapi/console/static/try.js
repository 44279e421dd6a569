// Try it: send a photo to the three public endpoints from this browser, as a client would,
// then show the photo, each result, each raw answer and the same calls as curl commands.
"use strict";

(() => {
  const form = document.getElementById("try-form");
  const endpoints = JSON.parse(form.dataset.endpoints);
  const keyInput = document.getElementById("api-key");
  const fileInput = document.getElementById("photo");
  const status = document.getElementById("try-status");
  const submit = document.getElementById("analyse");
  const results = document.getElementById("results");
  const preview = document.getElementById("preview");
  const maxImageBytes = Number(form.dataset.maxImageBytes);
  let photo = null; // { blob, name }

  function prefillKey() {
    const saved = rememberedKey(); // from console.js; null without storage: the key is pasted
    if (saved && !keyInput.value) keyInput.value = saved;
  }

  function enableKeyToggle() {
    const toggle = document.getElementById("toggle-key");
    toggle.hidden = false;
    toggle.setAttribute("aria-pressed", "false");
    toggle.addEventListener("click", () => {
      const show = keyInput.type === "password";
      keyInput.type = show ? "text" : "password";
      toggle.textContent = show ? "Hide" : "Show";
      toggle.setAttribute("aria-pressed", String(show));
    });
  }

  function choose(blob, name) {
    results.hidden = true; // they were for the previous photo
    if (blob.size > maxImageBytes) {
      // Sent anyway, the body would be cut off and the browser would show no answer at all.
      photo = null;
      status.textContent = `${name} is ${megabytes(blob.size)}; the API takes photos of up to ` +
        `${megabytes(maxImageBytes)}. Choose a smaller one.`;
      return;
    }
    photo = { blob, name };
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(blob);
    status.textContent = `Ready to send ${name}.`;
  }

  function megabytes(bytes) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }

  // The camera button appears only where the browser can open a camera (a secure context).
  function enableCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    const open = document.getElementById("camera-open");
    const panel = document.getElementById("camera");
    const video = document.getElementById("camera-video");
    let stream = null;
    const close = () => {
      // Stopping every track turns the camera (and its light) off.
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      video.srcObject = null;
      panel.hidden = true;
      open.hidden = false;
    };
    open.hidden = false;
    open.addEventListener("click", async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" } });
      } catch (error) {
        status.textContent = `The camera could not be opened (${error.name}). Choose a photo instead.`;
        return;
      }
      video.srcObject = stream;
      panel.hidden = false;
      open.hidden = true;
    });
    document.getElementById("camera-shoot").addEventListener("click", () => {
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob((blob) => { if (blob) choose(blob, "camera.jpg"); close(); }, "image/jpeg", 0.92);
    });
    document.getElementById("camera-close").addEventListener("click", close);
  }

  function base64Of(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  async function call(path, body) {
    // No cookies: the key alone authenticates, exactly as from a customer's server.
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
      credentials: "omit",
    });
    return { path, status: response.status, body: await response.json() };
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showValue(id, answer, describe) {
    const target = document.getElementById(id);
    target.classList.toggle("result-error", answer.body.result !== "Ok");
    target.textContent = answer.body.result === "Ok"
      ? describe(answer.body.data)
      : `Error ${answer.body.code}: ${answer.body.message}`;
  }

  function showExpression(answer) {
    const list = document.getElementById("expression-result");
    list.replaceChildren();
    if (answer.body.result !== "Ok") {
      list.append(element("li", "result-error", `Error ${answer.body.code}: ${answer.body.message}`));
      return;
    }
    const scores = Object.entries(answer.body.data).sort((a, b) => b[1] - a[1]);
    for (const [label, percent] of scores) {
      const item = element("li", "meter-row");
      const track = element("span", "meter");
      const fill = element("span", "meter-fill");
      fill.style.width = `${percent}%`;
      track.setAttribute("aria-hidden", "true");
      track.append(fill);
      item.append(element("span", "meter-label", label), track, element("span", "meter-value", `${percent} %`));
      list.append(item);
    }
  }

  function showRaw(answers) {
    const container = document.getElementById("raw-responses");
    container.replaceChildren();
    for (const answer of answers) {
      const details = element("details");
      details.open = true;
      const summary = element("summary");
      summary.append(element("code", "", `POST ${answer.path}`), ` · HTTP ${answer.status}`);
      const pre = element("pre");
      pre.append(element("code", "", JSON.stringify(answer.body, null, 2)));
      details.append(summary, pre);
      container.append(details);
    }
  }

  // The file name as one shell word: quoted, and never read as an option.
  function shellWord(fileName) {
    const path = fileName.startsWith("-") ? `./${fileName}` : fileName;
    return `'${path.replaceAll("'", "'\\''")}'`;
  }

  function curlCommands(fileName) {
    const file = shellWord(fileName);
    // printf is a shell builtin, so a large photo does not hit the argument-length limit;
    // echo ends each answer's line.
    return endpoints.map((path) => [
      `printf '{"image": "%s", "api_key": "%s"}' "$(base64 -w0 ${file})" "$FACEAPI_KEY" |`,
      `  curl -s ${window.location.origin}${path} \\`,
      "    -H 'Content-Type: application/json' --data-binary @-; echo",
    ].join("\n")).join("\n\n");
  }

  function show(answers) {
    const byName = Object.fromEntries(answers.map((a) => [a.path.split("/").pop(), a]));
    showValue("age-result", byName.face_age_detection, (data) => `${data.age} ${data.age === 1 ? "year" : "years"}`);
    showValue("gender-result", byName.face_gender_detection, (data) =>
      `${data.gender === "F" ? "Female" : "Male"} · ${data.genderProbability} %`);
    showExpression(byName.face_expression_detection);
    showRaw(answers);
    document.getElementById("curl-command").textContent = curlCommands(photo.name);
    results.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) {
      status.textContent = "Paste an API key first.";
      keyInput.focus();
      return;
    }
    if (!photo) {
      status.textContent = "Choose a photo first, or take one with the camera.";
      fileInput.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = "Sending the photo to the three endpoints…";
    try {
      const body = JSON.stringify({ image: await base64Of(photo.blob), api_key: key });
      const answers = await Promise.all(endpoints.map((path) => call(path, body)));
      show(answers);
      const failed = answers.filter((a) => a.body.result !== "Ok").length;
      status.textContent = failed ? `Done: ${failed} of 3 calls answered with an error.` : "Done: all three calls succeeded.";
    } catch (error) {
      status.textContent = `The request failed: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });

  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) choose(fileInput.files[0], fileInput.files[0].name);
  });
  prefillKey();
  enableKeyToggle();
  enableCamera();
})();
