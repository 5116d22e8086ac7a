// The web page of stanceframe serve: send an article (or a file of them) to the API, show the article
// view the server renders (the one `stanceframe analyze` writes), let the reader correct labels, and
// download the corrections as training records. Everything stays in this page: nothing is stored.
"use strict";

(function () {
  const settings = JSON.parse(document.getElementById("settings").textContent);
  const labels = settings.labels;
  const $ = (id) => document.getElementById(id);
  const form = $("analyze-form");
  const textBox = $("text");
  const idBox = $("article-id");
  const targetBox = $("target");
  const fileInput = $("file");
  const analyzeButton = $("analyze");
  const statusLine = $("status");
  const errorBox = $("error");
  const results = $("results");
  const view = $("view");
  const articleList = $("articles");
  const includeBox = $("include");
  const summaryLine = $("summary");
  const downloadButton = $("download");
  const picker = $("picker");
  const pickerOptions = $("picker-options");

  // Every article analysed in this page, in order: its analysis, its view and the reader's labels.
  const articles = [];
  let current = null; // the article shown
  let selected = null; // the sentence element whose picker is open
  let unsaved = false; // corrections made since the last download

  const number = (value) => value.toLocaleString("en-US");
  const display = (label) => settings.label_names[label] || label;
  const characters = (text) => Array.from(text).length; // code points, as the server counts

  // ------------------------------------------------------------------ messages

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    statusLine.textContent = "";
  }

  function clearMessages() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    statusLine.textContent = "";
  }

  async function errorMessage(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      // not JSON: fall through to the status line
    }
    let message = body && (body.message || body.detail);
    if (message && typeof message !== "string") {
      message = JSON.stringify(message);
    }
    if (!message) {
      message = response.statusText || "the server gave no reason";
    }
    if (response.status === 503) {
      message += " — the server is busy; try again in a moment";
    }
    return `${message} (HTTP ${response.status})`;
  }

  // ------------------------------------------------------------------ the text box

  function shareLink(text) {
    const query = new URLSearchParams({ text });
    if (targetBox && targetBox.value.trim()) {
      query.set("target", targetBox.value.trim());
    }
    return "./?" + query.toString();
  }

  function updateCount() {
    const count = characters(textBox.value);
    const limit = settings.limits.max_document_chars;
    $("count").textContent = `${number(count)} / ${number(limit)} characters`;
    $("count").classList.toggle("over", count > limit);
    const share = $("share");
    const link = count ? shareLink(textBox.value) : "";
    share.hidden = !count || link.length > 1_000_000;
    share.href = link || "./";
  }

  // An id for a pasted article, the same for the same text, so that corrections of one article made
  // on two days land under one id.
  function textId(text) {
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ code, 2654435761);
      h2 = Math.imul(h2 ^ code, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    const hex = (value) => (value >>> 0).toString(16).padStart(8, "0");
    return "pasted-" + (hex(h2) + hex(h1)).slice(0, 12);
  }

  // ------------------------------------------------------------------ asking the API

  function busy(on, message) {
    analyzeButton.disabled = on;
    fileInput.disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    statusLine.textContent = on ? message : "";
  }

  async function post(url, body, contentType) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": contentType },
        body,
      });
    } catch (error) {
      throw new Error(`could not reach the server (${error.message})`);
    }
    if (!response.ok) {
      throw new Error(await errorMessage(response));
    }
    return response.json();
  }

  async function analyzeText() {
    clearMessages();
    const text = textBox.value;
    if (!text.trim()) {
      showError("Paste an article into the box first (or upload a file).");
      textBox.focus();
      return;
    }
    const target = targetBox ? targetBox.value.trim() : "";
    if (settings.needs_target && !target) {
      showError("This is a stance model: give the target the sentences are read toward.");
      targetBox.focus();
      return;
    }
    const id = idBox.value.trim() || textId(text);
    const body = JSON.stringify(settings.needs_target ? { text, id, target } : { text, id });
    busy(true, `Analysing ${number(characters(text))} characters…`);
    try {
      const answer = await post("v1/analyze?html=true", body, "application/json");
      const article = addArticle(answer, "pasted text");
      busy(false);
      statusLine.textContent = `${article.analysis.sentences.length} sentences labelled.`;
    } catch (error) {
      busy(false);
      showError(error.message);
    }
  }

  async function analyzeFile(file) {
    clearMessages();
    if (file.size > settings.limits.max_body_bytes) {
      showError(
        `${file.name} is ${number(file.size)} bytes: over the limit of ` +
          `${number(settings.limits.max_body_bytes)} bytes per request (HTTP 413)`,
      );
      return;
    }
    const query = new URLSearchParams({ filename: file.name, html: "true" });
    query.set("text_field", $("text-field").value.trim() || "text");
    query.set("id_field", $("id-field").value.trim() || "id");
    if (settings.needs_target) {
      const targetField = $("target-field").value.trim();
      const target = targetBox.value.trim();
      if (!targetField && !target) {
        showError("This is a stance model: give the Target, or the field of the file that holds it.");
        targetBox.focus();
        return;
      }
      if (targetField) query.set("target_field", targetField);
      if (target) query.set("target", target);
    }
    busy(true, `Analysing ${file.name}…`);
    try {
      const content = await file.arrayBuffer();
      const answer = await post(`v1/analyze/file?${query}`, content, "application/octet-stream");
      let first = null;
      for (const analysis of answer.articles) {
        const article = addArticle(analysis, answer.file, false);
        first = first || article;
      }
      busy(false);
      if (first) show(first);
      const sentences = answer.articles.reduce((sum, a) => sum + a.sentences.length, 0);
      statusLine.textContent =
        `${answer.file}: ${answer.articles.length} article(s), ${sentences} sentences labelled.`;
    } catch (error) {
      busy(false);
      showError(error.message);
    } finally {
      fileInput.value = "";
    }
  }

  // ------------------------------------------------------------------ articles and corrections

  function addArticle(analysis, source, showIt = true) {
    const article = {
      id: analysis.id,
      source,
      target: analysis.target,
      analysis,
      html: analysis.html,
      // the reader's labels by sentence index; each a list (one label unless the run is multi-label)
      labels: new Map(),
      include: false,
    };
    const existing = articles.findIndex((other) => other.id === article.id);
    if (existing >= 0) {
      const dropped = changedCount(articles[existing]);
      articles[existing] = article;
      if (dropped) {
        statusLine.textContent = `Article ${article.id} was analysed again: its ${dropped} corrections were dropped.`;
      }
    } else {
      articles.push(article);
    }
    if (showIt) show(article);
    updateList();
    return article;
  }

  function modelLabels(article, index) {
    const sentence = article.analysis.sentences[index];
    return settings.multi_label ? sentence.labels : [sentence.label];
  }

  function labelsOf(article, index) {
    return article.labels.get(index) || modelLabels(article, index);
  }

  function isChanged(article, index) {
    if (!article.labels.has(index)) return false;
    const mine = [...article.labels.get(index)].sort().join("\n");
    return mine !== [...modelLabels(article, index)].sort().join("\n");
  }

  function changedCount(article) {
    let count = 0;
    for (const index of article.labels.keys()) if (isChanged(article, index)) count++;
    return count;
  }

  function sentenceElements() {
    return Array.from(view.querySelectorAll(".s"));
  }

  function indexOf(element) {
    return Number(element.id.slice(1));
  }

  function paint(element) {
    const index = indexOf(element);
    const chosen = labelsOf(current, index);
    const changed = isChanged(current, index);
    // the label the sentence is coloured by: the reader's first, else the model's top one
    const shown = chosen[0] || current.analysis.sentences[index].label;
    element.dataset.label = shown;
    element.classList.toggle("corrected", changed);
    labels.forEach((label, position) => {
      element.classList.toggle(`c${position}`, changed && label === shown);
    });
    if (changed) {
      element.removeAttribute("style");
      element.dataset.tip =
        `yours: ${chosen.map(display).join(", ") || "(none)"}\n` + element.dataset.modelTip;
    } else {
      if (element.dataset.modelStyle) element.setAttribute("style", element.dataset.modelStyle);
      element.dataset.tip = element.dataset.modelTip;
    }
  }

  function show(article) {
    closePicker(false);
    current = article;
    view.innerHTML = article.html; // rendered by the server's templates, every text escaped there
    for (const element of sentenceElements()) {
      element.dataset.modelLabel = element.dataset.label;
      element.dataset.modelTip = element.dataset.tip;
      element.dataset.modelStyle = element.getAttribute("style") || "";
      element.setAttribute("role", "button");
      element.setAttribute("aria-haspopup", "dialog");
      paint(element);
    }
    $("article-title").textContent = article.id;
    const meta = [article.source, `${article.analysis.sentences.length} sentences`];
    if (article.target) meta.push(`target ${article.target}`);
    $("article-meta").textContent = meta.join(" · ");
    results.hidden = false;
    updateList();
  }

  function updateList() {
    articleList.hidden = articles.length < 2;
    articleList.replaceChildren(
      ...articles.map((article) => {
        const button = document.createElement("button");
        button.type = "button";
        const changed = changedCount(article);
        button.textContent =
          `${article.id} · ${article.analysis.sentences.length}` + (changed ? ` · ✎${changed}` : "");
        button.setAttribute("aria-current", article === current ? "true" : "false");
        button.addEventListener("click", () => show(article));
        return button;
      }),
    );
    includeBox.checked = Boolean(current && current.include);
    includeBox.disabled = !current;
    const included = articles.filter((article) => article.include);
    const changed = included.reduce((sum, article) => sum + changedCount(article), 0);
    const sentences = included.reduce((sum, a) => sum + a.analysis.sentences.length, 0);
    downloadButton.disabled = included.length === 0;
    summaryLine.textContent = included.length
      ? `${included.length} article(s) in the download: ${sentences} sentences, ${changed} changed`
      : "Correct a label, or tick the box, to put this article in the download.";
  }

  function setLabel(element, label) {
    const index = indexOf(element);
    if (label === null) {
      current.labels.delete(index);
    } else if (settings.multi_label) {
      const chosen = new Set(labelsOf(current, index));
      if (chosen.has(label)) chosen.delete(label);
      else chosen.add(label);
      current.labels.set(index, labels.filter((name) => chosen.has(name)));
    } else {
      current.labels.set(index, [label]);
    }
    if (label !== null) current.include = true;
    unsaved = true;
    paint(element);
    if (selected === element) fillPicker(element);
    updateList();
  }

  // ------------------------------------------------------------------ the label picker

  function fillPicker(element) {
    const index = indexOf(element);
    const sentence = current.analysis.sentences[index];
    const chosen = labelsOf(current, index);
    $("picker-title").textContent = `Sentence ${index + 1} of ${current.analysis.sentences.length}`;
    $("picker-text").textContent = sentence.text;
    pickerOptions.replaceChildren(
      ...labels.map((label, position) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.label = label;
        button.setAttribute("aria-pressed", chosen.includes(label) ? "true" : "false");
        const key = document.createElement("kbd");
        key.textContent = position < 9 ? String(position + 1) : " ";
        const name = document.createElement("span");
        name.textContent = display(label);
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = sentence.scores[label].toFixed(3);
        button.append(key, name);
        if (modelLabels(current, index).includes(label)) {
          const model = document.createElement("span");
          model.className = "model";
          model.textContent = "model";
          button.append(model);
        }
        button.append(score);
        button.addEventListener("click", () => setLabel(element, label));
        return button;
      }),
    );
  }

  function openPicker(element) {
    if (selected) selected.classList.remove("selected");
    selected = element;
    element.classList.add("selected");
    fillPicker(element);
    picker.hidden = false;
  }

  function closePicker(refocus = true) {
    if (!selected) return;
    selected.classList.remove("selected");
    if (refocus) selected.focus();
    selected = null;
    picker.hidden = true;
  }

  function move(element, step) {
    const all = sentenceElements();
    const next = all[Math.min(all.length - 1, Math.max(0, all.indexOf(element) + step))];
    if (next) {
      next.focus();
      if (selected) openPicker(next);
    }
  }

  function keyLabel(key) {
    if (key === "0") return null;
    const position = Number(key) - 1;
    return position >= 0 && position < labels.length ? labels[position] : undefined;
  }

  view.addEventListener("click", (event) => {
    const element = event.target.closest(".s");
    if (element) {
      element.focus();
      openPicker(element);
    }
  });

  view.addEventListener("keydown", (event) => {
    const element = event.target.closest(".s");
    if (!element || event.ctrlKey || event.metaKey || event.altKey) return;
    const steps = { ArrowDown: 1, ArrowRight: 1, j: 1, ArrowUp: -1, ArrowLeft: -1, k: -1 };
    if (event.key in steps) {
      move(element, steps[event.key]);
    } else if (event.key === "Home" || event.key === "End") {
      move(element, event.key === "Home" ? -1e9 : 1e9);
    } else if (event.key === "Enter" || event.key === " ") {
      openPicker(element);
    } else if (event.key === "Escape") {
      closePicker();
    } else if (/^[0-9]$/.test(event.key) && keyLabel(event.key) !== undefined) {
      setLabel(element, keyLabel(event.key));
    } else {
      return;
    }
    event.preventDefault();
  });

  picker.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      closePicker();
      event.preventDefault();
    } else if (/^[0-9]$/.test(event.key) && selected && keyLabel(event.key) !== undefined) {
      setLabel(selected, keyLabel(event.key));
      event.preventDefault();
    }
  });
  $("picker-reset").addEventListener("click", () => selected && setLabel(selected, null));
  $("picker-close").addEventListener("click", () => closePicker());

  // ------------------------------------------------------------------ the download

  function trainingRows() {
    const rows = [];
    for (const article of articles.filter((a) => a.include)) {
      article.analysis.sentences.forEach((sentence, index) => {
        const chosen = labelsOf(article, index);
        const row = { text: sentence.text, label: settings.multi_label ? chosen : chosen[0] };
        if (article.target !== null && article.target !== undefined) row.target = article.target;
        Object.assign(row, {
          article: article.id,
          position: index,
          model_label: settings.multi_label ? sentence.labels : sentence.label,
          model_score: sentence.score,
          corrected: isChanged(article, index),
        });
        rows.push(row);
      });
    }
    return rows;
  }

  downloadButton.addEventListener("click", () => {
    const rows = trainingRows();
    const lines = rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
    const blob = new Blob([lines], { type: "application/jsonl" });
    const link = document.createElement("a");
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    link.download = `corrections-${settings.model}-${stamp}.jsonl`;
    link.href = URL.createObjectURL(blob);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    unsaved = false;
    statusLine.textContent = `Downloaded ${rows.length} sentences as ${link.download}.`;
  });

  includeBox.addEventListener("change", () => {
    if (current) current.include = includeBox.checked;
    updateList();
  });

  window.addEventListener("beforeunload", (event) => {
    if (unsaved) event.preventDefault();
  });

  // ------------------------------------------------------------------ wiring

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    analyzeText();
  });
  textBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      analyzeText();
    }
  });
  textBox.addEventListener("input", updateCount);
  if (targetBox) targetBox.addEventListener("input", updateCount);
  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) analyzeFile(fileInput.files[0]);
  });

  updateCount();
  updateList();
  if (settings.autorun) analyzeText();
})();
