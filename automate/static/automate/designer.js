/* The flow designer: draws a flow definition as Power Automate's chain of cards, and edits it.

   The definition lives as JSON in the form's <textarea name="definition">. This script reads
   it, edits it in place and writes it back after every change, so Save posts a plain form
   and the server validates and saves it. Without this script the textarea is the editor.

   Step names, inputs and labels are user data: everything goes into the DOM through
   createElement and textContent, never through innerHTML. */
const FlowDesigner = (function () {
  "use strict";

  const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
  const TYPED_PARAM_TYPES = new Set(["integer", "number", "boolean", "json"]);
  // Inputs that may hold JSON: "json" always does; "any" does when it starts with { or [.
  const JSON_PARAM_TYPES = new Set(["json", "any"]);
  // A condition's basic mode, as Power Automate has it: [value] [operator] [value]. "not x" is
  // written not(x(...)).
  const OPERATORS = [
    ["equals", "is equal to"],
    ["not equals", "is not equal to"],
    ["greater", "is greater than"],
    ["greaterOrEquals", "is greater than or equal to"],
    ["less", "is less than"],
    ["lessOrEquals", "is less than or equal to"],
    ["contains", "contains"],
    ["not contains", "does not contain"],
    ["startsWith", "starts with"],
    ["not startsWith", "does not start with"],
    ["endsWith", "ends with"],
    ["not endsWith", "does not end with"],
  ];
  const OPERATOR_KEYS = new Set(OPERATORS.map(([key]) => key));
  // What a condition's value box passes on as typed: numbers, true, false and null.
  const LITERAL = /^(?:-?\d+(?:\.\d+)?|true|false|null)$/;
  const INVALID = Symbol("invalid");

  const state = {
    form: null,
    textarea: null,
    codeBox: null,
    codeToggle: null,
    codeError: null,
    root: null,
    errorsBox: null,
    catalog: null,
    actions: new Map(), // action type -> its description
    connectors: new Map(), // connector key -> {name, color}
    tables: new Map(), // table id -> {name, fields}
    definition: null,
    picker: null, // {chain, index, query}: where the action picker is open
    panels: new WeakMap(), // step -> "runAfter" | "settings"
    collapsed: new WeakSet(),
    advancedConditions: new WeakSet(), // steps whose condition is edited as an expression
    badJson: new WeakMap(), // step -> Map of input name -> typed text that is not JSON
    badTitles: new WeakMap(), // step -> {text, problem}: a rename that was refused
    badTrigger: new WeakMap(), // trigger -> Map of key -> {text, problem}: typed, not stored
    timeZones: null, // the <datalist> of time zones, built once
    stepIds: new WeakMap(), // step -> a stable id, so focus survives a re-render and renames
    cards: new WeakMap(), // step -> its card, to focus after adding it
    fieldScopes: new WeakMap(), // input element -> {scope, param}: what dynamic content offers
    dynamic: null, // {panel, control}: the open dynamic content flyout
    focusStep: null,
    focusPicker: false,
    lastId: 0,
  };

  // -- DOM helpers ----------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") {
        for (const [name, setting] of Object.entries(value)) node.style.setProperty(name, setting);
      } else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (["value", "checked", "hidden", "disabled", "open"].includes(key)) node[key] = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function button(label, onclick, props) {
    return el("button", { type: "button", class: "designer-button", onclick, ...props }, label);
  }

  function selectBox(options, value, props) {
    const select = el(
      "select",
      props,
      options.map(([optionValue, text]) => el("option", { value: optionValue }, text)),
    );
    select.value = value;
    return select;
  }

  function nextId() {
    state.lastId += 1;
    return `designer-${state.lastId}`;
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // -- The definition -------------------------------------------------------------------------

  function stepId(step) {
    if (!state.stepIds.has(step)) state.stepIds.set(step, nextId());
    return state.stepIds.get(step);
  }

  function stepTitle(step) {
    return step.title || String(step.name || "").replace(/_/g, " ");
  }

  function toName(title) {
    return title
      .trim()
      .replace(/\s+/g, "_")
      .replace(/[^A-Za-z0-9_]/g, "");
  }

  /** The nested chains of a step, each a list of steps. */
  function childChains(step) {
    const action = state.actions.get(step.type);
    if (!action) return [];
    return action.chains.flatMap((chain) =>
      chain.key === "cases" ? step.cases.map((item) => item.actions) : [step[chain.key]],
    );
  }

  function withDescendants(step) {
    return [step, ...childChains(step).flatMap((chain) => chain.flatMap(withDescendants))];
  }

  function allSteps() {
    return state.definition.steps.flatMap(withDescendants);
  }

  function allNames() {
    return new Set(allSteps().map((step) => step.name));
  }

  function uniqueName(base) {
    const names = allNames();
    if (!names.has(base)) return base;
    let number = 2;
    while (names.has(`${base}_${number}`)) number += 1;
    return `${base}_${number}`;
  }

  /** Why the designer cannot draw ``steps`` (then the code view edits it), or "". */
  function structureProblem(steps, where) {
    if (!Array.isArray(steps)) return `${where}: the steps are not a list.`;
    for (const step of steps) {
      if (!isObject(step)) return `${where}: a step is not an object.`;
      if (step.inputs !== undefined && !isObject(step.inputs)) {
        return `${where} > ${step.name}: the inputs are not an object.`;
      }
      const action = state.actions.get(step.type);
      for (const chain of action ? action.chains : []) {
        if (step[chain.key] === undefined) step[chain.key] = [];
        if (chain.key === "cases") {
          if (!Array.isArray(step.cases))
            return `${where} > ${step.name}: the cases are not a list.`;
          for (const item of step.cases) {
            if (!isObject(item)) return `${where} > ${step.name}: a case is not an object.`;
            if (item.actions === undefined) item.actions = [];
            const problem = structureProblem(item.actions, `${where} > ${step.name}`);
            if (problem) return problem;
          }
        } else {
          const problem = structureProblem(step[chain.key], `${where} > ${step.name}`);
          if (problem) return problem;
        }
      }
    }
    return "";
  }

  /** Parse the textarea: {definition} or {error}. */
  function readDefinition(text) {
    let definition;
    try {
      definition = JSON.parse(text);
    } catch (error) {
      return { error: `The definition is not valid JSON (${error.message}).` };
    }
    if (!isObject(definition)) return { error: "The definition is not a JSON object." };
    if (definition.steps === undefined) definition.steps = [];
    if (!isObject(definition.trigger)) {
      definition.trigger = { type: "selected_record", table: null, inputs: [] };
    }
    const problem =
      triggerProblem(definition.trigger) || structureProblem(definition.steps, "Steps");
    return problem ? { error: problem } : { definition };
  }

  /** Why the designer cannot draw the trigger (then the code view edits it), or "". */
  function triggerProblem(trigger) {
    if (!triggerKind(trigger.type)) {
      return `The trigger type ${JSON.stringify(trigger.type)} is unknown.`;
    }
    if (trigger.type === "selected_record") {
      if (trigger.inputs === undefined) trigger.inputs = [];
      if (!Array.isArray(trigger.inputs)) return "The trigger's inputs are not a list.";
      if (!trigger.inputs.every(isObject)) return "A trigger input is not an object.";
    }
    for (const key of ["conditions", "fields", "filters", "hours", "minutes", "weekDays"]) {
      const value = trigger[key];
      if (value !== undefined && value !== null && !Array.isArray(value)) {
        return `The trigger's ${key} are not a list.`;
      }
    }
    const conditions = Array.isArray(trigger.conditions) ? trigger.conditions : [];
    if (!conditions.every((condition) => typeof condition === "string")) {
      return "A trigger condition is not text.";
    }
    const filters = Array.isArray(trigger.filters) ? trigger.filters : [];
    if (!filters.every(isObject)) return "A condition on a field is not an object.";
    return "";
  }

  function sync() {
    state.textarea.value = JSON.stringify(state.definition, null, 2);
  }

  function replaceStrings(value, replace) {
    if (typeof value === "string") return replace(value);
    if (Array.isArray(value)) return value.map((item) => replaceStrings(item, replace));
    if (isObject(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, replaceStrings(item, replace)]),
      );
    }
    return value;
  }

  /** Expressions name steps: follow a rename, as Power Automate does. */
  function renameReferences(oldName, newName) {
    const escaped = oldName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = new RegExp(`\\b(outputs|body|items|actions)\\(\\s*'${escaped}'\\s*\\)`, "g");
    for (const step of allSteps()) {
      if (step.inputs) {
        step.inputs = replaceStrings(step.inputs, (text) =>
          text.replace(pattern, `$1('${newName}')`),
        );
      }
    }
  }

  // -- Rendering ------------------------------------------------------------------------------

  /** Draw everything again, keeping the focus on the same control when it is still there. */
  function render() {
    const focused = document.activeElement;
    const focusKey = focused && state.root.contains(focused) ? focused.dataset.key : null;
    closeDynamic();
    state.root.replaceChildren(
      renderTrigger(),
      renderChain(state.definition.steps, { visible: () => [], loops: [] }),
    );
    sync();
    restoreFocus(focusKey);
  }

  function restoreFocus(focusKey) {
    if (state.focusPicker) {
      state.focusPicker = false;
      const search = state.root.querySelector(".picker-search");
      if (search) search.focus();
    } else if (state.focusStep) {
      const card = state.cards.get(state.focusStep);
      state.focusStep = null;
      if (card) {
        card.scrollIntoView({ block: "nearest" });
        card.querySelector(".step-title").focus();
      }
    } else if (focusKey) {
      const control = state.root.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
      if (control) control.focus();
    }
  }

  function badge(connectorKey, fallbackName, fallbackColor) {
    const connector = state.connectors.get(connectorKey) || {
      name: fallbackName,
      color: fallbackColor || "",
    };
    const initials = connector.name
      .split(/\s+/)
      .map((word) => word[0])
      .join("")
      .slice(0, 2)
      .toUpperCase();
    return el(
      "span",
      {
        class: "connector-badge",
        style: connector.color ? { "--badge": connector.color } : null,
        "aria-hidden": "true",
      },
      initials,
    );
  }

  // -- The trigger ----------------------------------------------------------------------------

  function renderTrigger() {
    const trigger = state.definition.trigger;
    const kind = triggerKind(trigger.type);
    const body = el("div", { class: "step-body" }, renderTriggerType(trigger, kind));
    if (trigger.type === "selected_record") {
      body.append(renderTriggerTable(trigger), renderTriggerInputs(trigger));
    } else if (state.catalog.recordTriggers.includes(trigger.type)) {
      body.append(renderTriggerTable(trigger));
      if (kind.keys.includes("fields")) body.append(renderTriggerFields(trigger));
    } else if (trigger.type === "business_event") {
      body.append(renderBusinessEvent(trigger));
    } else if (trigger.type === "recurrence") {
      body.append(...renderRecurrence(trigger));
    } else if (trigger.type === "http_request") {
      body.append(...renderHttpRequest(trigger));
    } else if (trigger.type === "approval_requested") {
      body.append(renderApprovalKind(trigger), renderApprovalFilters(trigger));
    }
    if (kind.keys.includes("conditions")) body.append(renderTriggerConditions(trigger));
    return el(
      "section",
      { class: "step-card trigger-card", "aria-label": "Trigger" },
      el(
        "div",
        { class: "step-head" },
        badge(kind.connectorKey, kind.connector, kind.color),
        el(
          "div",
          { class: "step-heading" },
          el("span", { class: "step-name" }, kind.title),
          el("span", { class: "step-action" }, `${kind.connector} · Trigger`),
        ),
      ),
      body,
    );
  }

  function triggerKind(type) {
    return state.catalog.triggerTypes.find((kind) => kind.type === type);
  }

  /** A select with <optgroup>s: ``groups`` is [[label, [[value, text], ...]], ...]. */
  function groupedSelect(first, groups, value, props) {
    const select = el(
      "select",
      props,
      first.map(([optionValue, text]) => el("option", { value: optionValue }, text)),
      groups.map(([label, options]) =>
        el(
          "optgroup",
          { label },
          options.map(([optionValue, text]) => el("option", { value: optionValue }, text)),
        ),
      ),
    );
    select.value = value;
    return select;
  }

  function groupBy(items, keyOf) {
    const groups = new Map();
    for (const item of items) {
      const key = keyOf(item);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(item);
    }
    return [...groups];
  }

  /** A labelled field of the trigger card. */
  function triggerField({ id, label, control, help, error, required, param }) {
    return el(
      "div",
      { class: "field designer-field", dataset: param ? { param } : null },
      el("label", { for: id, class: "field-label" }, label, required ? requiredMark() : null),
      control,
      help,
      error,
    );
  }

  function helpText(id, text) {
    return el("p", { class: "field-help", id }, text);
  }

  /** Power Automate's "Choose your flow's trigger", as a select grouped by kind of flow. */
  function renderTriggerType(trigger, kind) {
    const id = nextId();
    const described = nextId();
    const select = groupedSelect(
      [],
      groupBy(state.catalog.triggerTypes, (type) => type.group).map(([group, types]) => [
        group,
        types.map((type) => [type.type, type.title]),
      ]),
      trigger.type,
      { id, "aria-describedby": described, dataset: { key: "trigger-type" } },
    );
    select.addEventListener("change", () => changeTriggerType(select.value));
    return triggerField({
      id,
      label: "Trigger",
      control: select,
      help: helpText(described, kind.description),
      param: "type",
    });
  }

  /** A new trigger of ``type``: what the old one holds that the new type allows (its table,
      its conditions) stays, the rest goes, so the saved trigger has no keys it may not. */
  function changeTriggerType(type) {
    const old = state.definition.trigger;
    if (type === old.type) return;
    const kind = triggerKind(type);
    const trigger = { type };
    for (const key of kind.keys) {
      if (old[key] !== undefined) trigger[key] = old[key];
    }
    if (kind.keys.includes("table") && trigger.table === undefined) trigger.table = null;
    if (type === "selected_record" && !Array.isArray(trigger.inputs)) trigger.inputs = [];
    if (type === "recurrence") {
      if (trigger.frequency === undefined) trigger.frequency = "day";
      if (trigger.interval === undefined) trigger.interval = 1;
    }
    if (type === "http_request" && trigger.method === undefined) trigger.method = "POST";
    state.definition.trigger = trigger;
    render();
  }

  function renderTriggerTable(trigger) {
    const id = nextId();
    const select = selectBox(
      [
        ["", "Choose a table"],
        ...[...state.tables].map(([tableId, table]) => [
          String(tableId),
          `${table.name} (${tableId})`,
        ]),
      ],
      trigger.table === null || trigger.table === undefined ? "" : String(trigger.table),
      { id, dataset: { key: "trigger-table" } },
    );
    select.addEventListener("change", () => {
      trigger.table = select.value ? Number(select.value) : null;
      // The chosen fields are the old table's.
      delete trigger.fields;
      render();
    });
    return triggerField({ id, label: "Table", control: select, required: true, param: "table" });
  }

  function renderTriggerInputs(trigger) {
    const rows = trigger.inputs.map((item, index) => renderTriggerInput(trigger, item, index));
    return el(
      "fieldset",
      { class: "trigger-inputs" },
      el("legend", {}, "Inputs the user fills in when running the flow"),
      rows.length ? rows : el("p", { class: "field-help" }, "None: the flow runs without asking."),
      button("+ Add an input", () => {
        trigger.inputs.push({ name: "", label: "", type: "text", required: false });
        render();
        const labels = state.root.querySelectorAll(".trigger-input-label");
        labels[labels.length - 1].focus();
      }),
    );
  }

  function renderTriggerInput(trigger, item, index) {
    const key = `trigger-input-${index}`;
    const name = el("input", {
      type: "text",
      value: item.name || "",
      "aria-label": "Input name",
      placeholder: "Name",
      spellcheck: "false",
      dataset: { key: `${key}-name` },
      oninput: () => {
        item.name = name.value.trim();
        sync();
      },
    });
    const label = el("input", {
      type: "text",
      class: "trigger-input-label",
      value: item.label || "",
      "aria-label": "Input label",
      placeholder: "Label, e.g. Reason",
      dataset: { key: `${key}-label` },
      oninput: () => {
        // The name follows the label until someone changes it by hand.
        if (!item.name || item.name === toName(item.label || "")) {
          item.name = toName(label.value);
          name.value = item.name;
        }
        item.label = label.value;
        sync();
      },
    });
    const type = selectBox(
      state.catalog.triggerInputTypes.map((option) => [option.type, option.label]),
      item.type || "text",
      { "aria-label": "Input type", dataset: { key: `${key}-type` } },
    );
    type.addEventListener("change", () => {
      item.type = type.value;
      sync();
    });
    const required = el("input", {
      type: "checkbox",
      checked: Boolean(item.required),
      dataset: { key: `${key}-required` },
      onchange: () => {
        item.required = required.checked;
        sync();
      },
    });
    return el(
      "div",
      { class: "trigger-input" },
      label,
      name,
      type,
      el("label", { class: "check" }, required, " Required"),
      button(
        "Remove",
        () => {
          trigger.inputs.splice(index, 1);
          render();
        },
        { "aria-label": `Remove input ${item.label || item.name || index + 1}` },
      ),
    );
  }

  // -- Trigger fields per type ----------------------------------------------------------------

  function badTriggerTexts(trigger) {
    if (!state.badTrigger.has(trigger)) state.badTrigger.set(trigger, new Map());
    return state.badTrigger.get(trigger);
  }

  /** Keep text the trigger cannot hold yet (``problem`` says why, "" when it is fine), so a
      redraw shows what was typed rather than the last value that was good. */
  function markTriggerText(trigger, name, label, text, problem, control, error) {
    const texts = badTriggerTexts(trigger);
    if (problem) texts.set(name, { text, problem, label });
    else texts.delete(name);
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }

  /** Store what is typed in ``control`` (the field ``label``) as ``trigger[name]``, read by
      ``parse``: {value} (undefined removes the key) or {problem}. */
  function parsedTriggerInput(trigger, name, label, control, error, parse) {
    const bad = badTriggerTexts(trigger).get(name);
    if (bad) {
      control.value = bad.text;
      markTriggerText(trigger, name, label, bad.text, bad.problem, control, error);
    }
    control.addEventListener("input", () => {
      const parsed = parse(control.value);
      markTriggerText(trigger, name, label, control.value, parsed.problem || "", control, error);
      if (parsed.problem) return;
      if (parsed.value === undefined) delete trigger[name];
      else trigger[name] = parsed.value;
      sync();
    });
  }

  function errorText(id) {
    return el("p", { class: "field-error", id, hidden: true, role: "status" });
  }

  function checkBox(label, checked, key, onchange) {
    const box = el("input", { type: "checkbox", checked, dataset: { key } });
    box.addEventListener("change", () => onchange(box.checked));
    return el("label", { class: "check" }, box, ` ${label}`);
  }

  /** A list of choices as check boxes, in a fieldset named by its legend. */
  function checkGroup(legend, options, chosen, keyPrefix, onchange, { help, className } = {}) {
    const helpId = help ? nextId() : null;
    return el(
      "fieldset",
      {
        class: ["field designer-field trigger-choices", className].filter(Boolean).join(" "),
        "aria-describedby": helpId,
      },
      el("legend", { class: "field-label" }, legend),
      el(
        "div",
        { class: "trigger-choice-list" },
        options.map(([value, text]) =>
          checkBox(text, chosen.includes(value), `${keyPrefix}-${value}`, (checked) =>
            onchange(value, checked),
          ),
        ),
      ),
      help ? helpText(helpId, help) : null,
    );
  }

  /** "Only when these fields change": the table's fields; none means any field. */
  function renderTriggerFields(trigger) {
    const table = state.tables.get(trigger.table);
    const chosen = Array.isArray(trigger.fields) ? [...trigger.fields] : [];
    if (!table) {
      return el(
        "fieldset",
        { class: "field designer-field trigger-choices" },
        el("legend", { class: "field-label" }, "Only when these fields change"),
        el("p", { class: "field-help" }, "Choose a table first."),
      );
    }
    // Last Modified changes with every change, so it is never a reason of its own.
    const fields = table.fields.filter((field) => field.name !== "lastModifiedDateTime");
    const labels = fields.map((field) => field.label);
    const options = fields.map((field) => [
      field.name,
      // Two fields with one caption are told apart by their API names.
      labels.indexOf(field.label) === labels.lastIndexOf(field.label)
        ? field.label
        : `${field.label} (${field.name})`,
    ]);
    // A field the table no longer has stays listed, so it can be unticked.
    for (const name of chosen) {
      if (!options.some(([option]) => option === name)) {
        options.push([name, `Unknown field ${name}`]);
      }
    }
    return checkGroup(
      "Only when these fields change",
      options,
      chosen,
      "trigger-field",
      (name, checked) => {
        const names = new Set(Array.isArray(trigger.fields) ? trigger.fields : []);
        if (checked) names.add(name);
        else names.delete(name);
        const ordered = options.map(([option]) => option).filter((option) => names.has(option));
        if (ordered.length) trigger.fields = ordered;
        else delete trigger.fields;
        sync();
      },
      {
        help: "Leave them all unticked to start the flow when any field changes.",
        className: "trigger-fields",
      },
    );
  }

  function renderBusinessEvent(trigger) {
    const id = nextId();
    const described = nextId();
    const events = state.catalog.businessEvents;
    const chosen = events.find((event) => event.key === trigger.event);
    const first = [["", "Choose a business event"]];
    if (trigger.event && !chosen) {
      first.push([String(trigger.event), `Unknown event ${trigger.event}`]);
    }
    const select = groupedSelect(
      first,
      groupBy(events, (event) => event.category).map(([category, items]) => [
        category,
        items.map((event) => [event.key, event.name]),
      ]),
      trigger.event === undefined || trigger.event === null ? "" : String(trigger.event),
      { id, "aria-describedby": described, dataset: { key: "trigger-event" } },
    );
    select.addEventListener("change", () => {
      if (select.value) trigger.event = select.value;
      else delete trigger.event;
      render();
    });
    const help = chosen
      ? el(
          "div",
          { id: described, class: "event-description" },
          el("p", { class: "field-help" }, chosen.description),
          el(
            "p",
            { class: "field-help" },
            `Holds ${chosen.payload.map((field) => field.name).join(", ")}.`,
          ),
        )
      : helpText(described, "Choose an event to see what it holds.");
    return triggerField({
      id,
      label: "Business event",
      control: select,
      help,
      required: true,
      param: "event",
    });
  }

  function frequencyOption(value) {
    return state.catalog.recurrence.frequencies.find((option) => option.value === value);
  }

  function renderRecurrence(trigger) {
    const options = state.catalog.recurrence;
    const frequency = frequencyOption(trigger.frequency);
    const parts = [
      el(
        "div",
        { class: "recurrence-every" },
        renderInterval(trigger, options.maxInterval),
        renderFrequency(trigger),
      ),
      renderTimeZone(trigger),
      renderStartTime(trigger),
    ];
    if (frequency && frequency.times) {
      const hours = Array.isArray(trigger.hours) ? trigger.hours : [];
      parts.push(
        checkGroup(
          "At these hours",
          Array.from({ length: 24 }, (_, hour) => [hour, String(hour)]),
          hours,
          "trigger-hour",
          (hour, checked) => setNumbers(trigger, "hours", hour, checked),
          { help: "None ticked: the hour of the start time.", className: "trigger-hours" },
        ),
        renderMinutes(trigger),
      );
    }
    if (frequency && frequency.weekDays) {
      parts.push(
        checkGroup(
          "On these days",
          options.weekDays.map((day) => [day, day]),
          Array.isArray(trigger.weekDays) ? trigger.weekDays : [],
          "trigger-day",
          (day, checked) => {
            const days = new Set(Array.isArray(trigger.weekDays) ? trigger.weekDays : []);
            if (checked) days.add(day);
            else days.delete(day);
            const ordered = options.weekDays.filter((name) => days.has(name));
            if (ordered.length) trigger.weekDays = ordered;
            else delete trigger.weekDays;
            sync();
          },
          { help: "None ticked: the day of the start time." },
        ),
      );
    }
    return parts;
  }

  function setNumbers(trigger, name, number, checked) {
    const numbers = new Set(Array.isArray(trigger[name]) ? trigger[name] : []);
    if (checked) numbers.add(number);
    else numbers.delete(number);
    if (numbers.size) trigger[name] = [...numbers].sort((a, b) => a - b);
    else delete trigger[name];
    sync();
  }

  function renderInterval(trigger, max) {
    const id = nextId();
    const errorId = nextId();
    const input = el("input", {
      type: "number",
      id,
      min: "1",
      max: String(max),
      step: "1",
      value: trigger.interval === undefined ? "" : String(trigger.interval),
      "aria-describedby": errorId,
      dataset: { key: "trigger-interval" },
    });
    const error = errorText(errorId);
    parsedTriggerInput(trigger, "interval", "Interval", input, error, (text) => {
      const number = Number(text.trim());
      return /^\d+$/.test(text.trim()) && number >= 1 && number <= max
        ? { value: number }
        : { problem: `The interval is a whole number from 1 to ${max}.` };
    });
    return triggerField({ id, label: "Interval", control: input, error, required: true });
  }

  function renderFrequency(trigger) {
    const id = nextId();
    const select = selectBox(
      [
        ...(frequencyOption(trigger.frequency) ? [] : [["", "Choose a frequency"]]),
        ...state.catalog.recurrence.frequencies.map((option) => [option.value, option.label]),
      ],
      frequencyOption(trigger.frequency) ? trigger.frequency : "",
      { id, dataset: { key: "trigger-frequency" } },
    );
    select.addEventListener("change", () => {
      const option = frequencyOption(select.value);
      if (!option) return;
      trigger.frequency = option.value;
      // Times of day and week days only where the frequency has them; the server refuses
      // them elsewhere.
      const dropped = [
        ...(option.times ? [] : ["hours", "minutes"]),
        ...(option.weekDays ? [] : ["weekDays"]),
      ];
      for (const name of dropped) {
        delete trigger[name];
        badTriggerTexts(trigger).delete(name);
      }
      render();
    });
    return triggerField({ id, label: "Frequency", control: select, required: true });
  }

  function timeZoneList() {
    // Built once: several hundred options are not redrawn with every change.
    if (!state.timeZones) {
      state.timeZones = el(
        "datalist",
        { id: "designer-time-zones" },
        state.catalog.recurrence.timeZones.map((zone) => el("option", { value: zone })),
      );
    }
    return state.timeZones;
  }

  function renderTimeZone(trigger) {
    const id = nextId();
    const helpId = nextId();
    const errorId = nextId();
    const fallback = state.catalog.recurrence.defaultTimeZone;
    const input = el("input", {
      type: "text",
      id,
      list: "designer-time-zones",
      value: typeof trigger.timeZone === "string" ? trigger.timeZone : "",
      placeholder: fallback,
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": `${helpId} ${errorId}`,
      dataset: { key: "trigger-time-zone" },
    });
    const error = errorText(errorId);
    parsedTriggerInput(trigger, "timeZone", "Time zone", input, error, (text) => ({
      value: text.trim() || undefined,
    }));
    return triggerField({
      id,
      label: "Time zone",
      control: input,
      help: el(
        "div",
        {},
        helpText(helpId, `An IANA name such as Europe/Berlin; ${fallback} when empty.`),
        timeZoneList(),
      ),
      error,
    });
  }

  function renderStartTime(trigger) {
    const id = nextId();
    const helpId = nextId();
    const value = typeof trigger.startTime === "string" ? trigger.startTime : "";
    const input = el("input", {
      type: "datetime-local",
      id,
      value,
      // Seconds are shown only when the start time has them.
      step: /T\d\d:\d\d:\d\d/.test(value) ? "1" : null,
      "aria-describedby": helpId,
      dataset: { key: "trigger-start-time" },
    });
    const error = errorText(nextId());
    parsedTriggerInput(trigger, "startTime", "Start time", input, error, (text) => ({
      value: text || undefined,
    }));
    return triggerField({
      id,
      label: "Start time",
      control: input,
      help: helpText(
        helpId,
        "In the time zone above: the first run, and what the interval counts from " +
          "(midnight when empty).",
      ),
      error,
    });
  }

  function renderMinutes(trigger) {
    const id = nextId();
    const helpId = nextId();
    const errorId = nextId();
    const input = el("input", {
      type: "text",
      id,
      value: Array.isArray(trigger.minutes) ? trigger.minutes.join(", ") : "",
      placeholder: "e.g. 0, 30",
      inputmode: "numeric",
      autocomplete: "off",
      "aria-describedby": `${helpId} ${errorId}`,
      dataset: { key: "trigger-minutes" },
    });
    const error = errorText(errorId);
    parsedTriggerInput(trigger, "minutes", "At these minutes", input, error, (text) => {
      const parts = text.split(/[\s,;]+/).filter(Boolean);
      if (!parts.every((part) => /^\d{1,2}$/.test(part) && Number(part) <= 59)) {
        return { problem: "Minutes are whole numbers from 0 to 59, separated by commas." };
      }
      const minutes = [...new Set(parts.map(Number))].sort((a, b) => a - b);
      return { value: minutes.length ? minutes : undefined };
    });
    return triggerField({
      id,
      label: "At these minutes",
      control: input,
      help: helpText(
        helpId,
        "Minutes of the hour, e.g. 0, 30. Empty: the minute of the start time.",
      ),
      error,
    });
  }

  function renderHttpRequest(trigger) {
    const methodId = nextId();
    const method = selectBox(
      state.catalog.httpMethods.map((name) => [name, name]),
      trigger.method || "POST",
      { id: methodId, dataset: { key: "trigger-method" } },
    );
    method.addEventListener("change", () => {
      trigger.method = method.value;
      sync();
    });
    const signed = el("input", {
      type: "checkbox",
      id: nextId(),
      checked: trigger.requireSignature === true,
      "aria-describedby": `${methodId}-signed-help`,
      dataset: { key: "trigger-require-signature" },
      onchange: () => {
        if (signed.checked) trigger.requireSignature = true;
        else delete trigger.requireSignature;
        sync();
      },
    });
    return [
      triggerField({ id: methodId, label: "Method", control: method, param: "method" }),
      renderSchema(trigger),
      el(
        "div",
        { class: "field designer-field", dataset: { param: "requireSignature" } },
        el("label", { class: "check" }, signed, " Require a signed request"),
        helpText(
          `${methodId}-signed-help`,
          "Callers send X-Bcsite-Timestamp and X-Bcsite-Signature: sha256=<HMAC-SHA256 of " +
            "timestamp.body under the flow's signing secret>; anything else is refused.",
        ),
      ),
    ];
  }

  function renderSchema(trigger) {
    const id = nextId();
    const helpId = nextId();
    const errorId = nextId();
    const area = el("textarea", {
      id,
      rows: "6",
      spellcheck: "false",
      placeholder: '{"type": "object", "properties": {"number": {"type": "string"}}}',
      "aria-describedby": `${helpId} ${errorId}`,
      dataset: { key: "trigger-schema" },
    });
    area.value = trigger.schema === undefined ? "" : JSON.stringify(trigger.schema, null, 2);
    const error = errorText(errorId);
    parsedTriggerInput(trigger, "schema", "Request Body JSON Schema", area, error, (text) => {
      if (!text.trim()) return { value: undefined };
      let schema;
      try {
        schema = JSON.parse(text);
      } catch (problem) {
        return { problem: `Not valid JSON (${problem.message}).` };
      }
      return isObject(schema)
        ? { value: schema }
        : { problem: "A schema is a JSON object: {...}." };
    });
    const field = triggerField({
      id,
      label: "Request Body JSON Schema",
      control: area,
      help: helpText(
        helpId,
        "Optional. A request whose body does not match it is refused; its properties " +
          "are offered as dynamic content.",
      ),
      error,
      param: "schema",
    });
    field.append(renderSamplePayload(trigger));
    return field;
  }

  /** Power Automate's "Use sample payload to generate schema". */
  function renderSamplePayload(trigger) {
    const id = nextId();
    const errorId = nextId();
    const area = el("textarea", {
      id,
      rows: "4",
      spellcheck: "false",
      "aria-describedby": errorId,
      dataset: { key: "trigger-sample" },
    });
    const error = errorText(errorId);
    const generate = () => {
      let sample;
      try {
        sample = JSON.parse(area.value);
      } catch (problem) {
        error.textContent = `Not valid JSON (${problem.message}).`;
        error.hidden = false;
        area.setAttribute("aria-invalid", "true");
        return;
      }
      trigger.schema = schemaFor(sample);
      badTriggerTexts(trigger).delete("schema");
      render();
    };
    return el(
      "details",
      { class: "sample-payload" },
      el("summary", {}, "Use sample payload to generate schema"),
      el(
        "div",
        { class: "field designer-field" },
        el("label", { for: id, class: "field-label" }, "Sample JSON payload"),
        area,
        error,
        button("Generate the schema", generate),
      ),
    );
  }

  /** A JSON Schema that ``value`` satisfies: types and properties, nothing required. */
  function schemaFor(value) {
    if (Array.isArray(value)) {
      return value.length ? { type: "array", items: schemaFor(value[0]) } : { type: "array" };
    }
    if (isObject(value)) {
      return {
        type: "object",
        properties: Object.fromEntries(
          Object.entries(value).map(([key, item]) => [key, schemaFor(item)]),
        ),
      };
    }
    if (value === null) return {};
    if (typeof value === "number") return { type: Number.isInteger(value) ? "integer" : "number" };
    return { type: typeof value };
  }

  // -- Approval flow triggers ------------------------------------------------------------------

  /** What is sent for approval: a sales document, a customer or an item (its BC table). */
  function renderApprovalKind(trigger) {
    const id = nextId();
    const value = trigger.table === null || trigger.table === undefined ? "" : String(trigger.table);
    const options = [
      ["", "Choose what is sent for approval"],
      ...state.catalog.approvalTriggers.map((kind) => [String(kind.table), kind.title]),
    ];
    if (value && !options.some(([option]) => option === value)) {
      options.push([value, `Table ${value}: not sent for approval`]);
    }
    const select = selectBox(options, value, { id, dataset: { key: "trigger-approval-kind" } });
    select.addEventListener("change", () => {
      trigger.table = select.value ? Number(select.value) : null;
      // The conditions name the old table's fields.
      delete trigger.filters;
      render();
    });
    return triggerField({ id, label: "When", control: select, required: true, param: "table" });
  }

  /** Conditions on the record's fields: the flow takes the request of a record that meets
      them all, and otherwise leaves it to the approval workflows. */
  function renderApprovalFilters(trigger) {
    const table = state.tables.get(trigger.table);
    const legend = el("legend", {}, "Conditions on the record");
    if (!table || !approvalKind(trigger.table)) {
      return el(
        "fieldset",
        { class: "trigger-inputs trigger-filters" },
        legend,
        el("p", { class: "field-help" }, "Choose what is sent for approval first."),
      );
    }
    const filters = Array.isArray(trigger.filters) ? trigger.filters : [];
    const helpId = nextId();
    const fieldOptions = table.fields.map((field) => [field.name, field.label]);
    const rows = filters.map((filter, index) => {
      const number = index + 1;
      const options = [["", "Choose a field"], ...fieldOptions];
      if (filter.field && !fieldOptions.some(([name]) => name === filter.field)) {
        options.push([String(filter.field), `Unknown field ${filter.field}`]);
      }
      const field = selectBox(options, filter.field || "", {
        class: "trigger-filter-field",
        "aria-label": `Condition ${number}: field`,
        dataset: { key: `trigger-filter-field-${index}` },
      });
      field.addEventListener("change", () => {
        filter.field = field.value;
        sync();
      });
      const operator = selectBox(
        state.catalog.approvalOperators.map((option) => [option.value, option.label]),
        filter.operator || "eq",
        {
          "aria-label": `Condition ${number}: operator`,
          dataset: { key: `trigger-filter-operator-${index}` },
        },
      );
      operator.addEventListener("change", () => {
        filter.operator = operator.value;
        sync();
      });
      const value = el("input", {
        type: "text",
        value: filter.value === null || filter.value === undefined ? "" : String(filter.value),
        autocomplete: "off",
        "aria-label": `Condition ${number}: value`,
        dataset: { key: `trigger-filter-value-${index}` },
        oninput: () => {
          filter.value = value.value;
          sync();
        },
      });
      return el(
        "div",
        { class: "trigger-filter" },
        field,
        operator,
        value,
        button(
          "Remove",
          () => {
            filters.splice(index, 1);
            if (!filters.length) delete trigger.filters;
            render();
          },
          { "aria-label": `Remove condition ${number}` },
        ),
      );
    });
    return el(
      "fieldset",
      { class: "trigger-inputs trigger-filters", "aria-describedby": helpId },
      legend,
      helpText(
        helpId,
        "The flow takes the approval request of a record that meets every condition; other " +
          "records go to the approval workflows. None: it takes every request.",
      ),
      rows,
      button(
        "+ Add a condition",
        () => {
          if (!Array.isArray(trigger.filters)) trigger.filters = [];
          trigger.filters.push({ field: "", operator: "eq", value: "" });
          render();
          const fields = state.root.querySelectorAll(".trigger-filter-field");
          fields[fields.length - 1].focus();
        },
        {
          disabled: filters.length >= state.catalog.maxApprovalFilters,
          "aria-describedby": helpId,
        },
      ),
    );
  }

  function approvalKind(table) {
    return state.catalog.approvalTriggers.find((kind) => kind.table === table);
  }

  /** Power Automate's trigger conditions: expressions that must all be true. */
  function renderTriggerConditions(trigger) {
    const conditions = Array.isArray(trigger.conditions) ? trigger.conditions : [];
    const max = state.catalog.maxTriggerConditions;
    const helpId = nextId();
    // Conditions read the trigger, nothing else: no step has run yet.
    const scope = { visible: () => [], loops: [] };
    const param = { name: "conditions", type: "text", typed: true };
    const rows = conditions.map((condition, index) => {
      const input = el("input", {
        type: "text",
        class: "trigger-condition-input",
        value: condition,
        placeholder: "@equals(triggerBody()?['blocked'], 'All')",
        autocomplete: "off",
        spellcheck: "false",
        "aria-label": `Trigger condition ${index + 1}`,
        "aria-describedby": helpId,
        dataset: { key: `trigger-condition-${index}` },
        oninput: () => {
          trigger.conditions[index] = input.value;
          sync();
        },
      });
      state.fieldScopes.set(input, { scope, param });
      return el(
        "div",
        { class: "field designer-field trigger-condition" },
        input,
        button(
          "Remove",
          () => {
            trigger.conditions.splice(index, 1);
            if (!trigger.conditions.length) delete trigger.conditions;
            render();
          },
          { "aria-label": `Remove trigger condition ${index + 1}` },
        ),
      );
    });
    return el(
      "fieldset",
      { class: "trigger-inputs trigger-conditions", "aria-describedby": helpId },
      el("legend", {}, "Trigger conditions"),
      helpText(
        helpId,
        "The flow starts only when every condition is true; otherwise the event is skipped. " +
          "Each is an expression that starts with @ and reads the trigger.",
      ),
      rows,
      button(
        "+ Add a condition",
        () => {
          if (!Array.isArray(trigger.conditions)) trigger.conditions = [];
          trigger.conditions.push("");
          render();
          const inputs = state.root.querySelectorAll(".trigger-condition-input");
          inputs[inputs.length - 1].focus();
        },
        { disabled: conditions.length >= max, "aria-describedby": helpId },
      ),
    );
  }

  function requiredMark() {
    return el("span", { class: "required", "aria-hidden": "true" }, " *");
  }

  // -- Chains and steps -----------------------------------------------------------------------

  /** A chain of steps. ``scope`` says what runs before it: {visible(), loops}. */
  function renderChain(chain, scope) {
    const list = el("div", { class: "chain" });
    chain.forEach((step, index) => {
      list.append(insertPoint(chain, index, false));
      list.append(renderStep(step, chain, index, stepScope(chain, index, scope)));
    });
    list.append(insertPoint(chain, chain.length, true));
    return list;
  }

  function stepScope(chain, index, scope) {
    return {
      visible: () => scope.visible().concat(chain.slice(0, index).flatMap(withDescendants)),
      loops: scope.loops,
    };
  }

  function insertPoint(chain, index, last) {
    if (state.picker && state.picker.chain === chain && state.picker.index === index) {
      return renderPicker();
    }
    const open = () => openPicker(chain, index);
    if (last) {
      return el(
        "div",
        { class: "chain-end" },
        button("+ New step", open, { class: "designer-button add-step" }),
      );
    }
    return el(
      "div",
      { class: "chain-insert" },
      el(
        "button",
        {
          type: "button",
          class: "insert-step",
          "aria-label": "Insert a new step here",
          title: "Insert a new step here",
          onclick: open,
        },
        "+",
      ),
    );
  }

  function renderStep(step, chain, index, scope) {
    const action = state.actions.get(step.type);
    const card = el("section", {
      class: "step-card",
      "aria-label": stepTitle(step),
      dataset: { type: step.type || "", step: step.name || "" },
    });
    state.cards.set(step, card);
    card.append(renderStepHead(step, chain, index, action));
    if (state.collapsed.has(step)) return card;
    card.append(action ? renderStepBody(step, action, scope) : renderUnknownStep(step));
    const panel = state.panels.get(step);
    if (panel === "runAfter") card.append(renderRunAfter(step, index));
    if (panel === "settings") card.append(renderSettings(step));
    if (action && action.chains.length) card.append(renderNested(step, action, scope));
    return card;
  }

  function renderStepHead(step, chain, index, action) {
    const id = stepId(step);
    const refused = state.badTitles.get(step);
    const error = el(
      "p",
      { class: "field-error", hidden: !refused },
      refused ? refused.problem : "",
    );
    const title = el("input", {
      type: "text",
      class: "step-title",
      value: refused ? refused.text : stepTitle(step),
      "aria-invalid": refused ? "true" : null,
      "aria-label": "Step name",
      maxlength: "80",
      spellcheck: "false",
      dataset: { key: `${id}-title` },
    });
    title.addEventListener("change", () => renameStep(step, title, error));
    const panel = state.panels.get(step);
    const collapsed = state.collapsed.has(step);
    const actionLabel = action
      ? `${action.connector} · ${action.title}`
      : `Unknown action ${step.type}`;
    return el(
      "div",
      { class: "step-head" },
      badge(action ? action.connectorKey : "", action ? action.connector : "?"),
      el(
        "div",
        { class: "step-heading" },
        title,
        el("span", { class: "step-action" }, actionLabel),
        runAfterNote(step),
        error,
      ),
      el(
        "div",
        { class: "step-tools" },
        tool("Move up", "↑", () => moveStep(chain, index, -1), { disabled: index === 0 }),
        tool("Move down", "↓", () => moveStep(chain, index, 1), {
          disabled: index === chain.length - 1,
        }),
        tool("Configure run after", "⤵", () => togglePanel(step, "runAfter"), {
          "aria-pressed": String(panel === "runAfter"),
        }),
        action && action.retry
          ? tool("Settings", "⚙", () => togglePanel(step, "settings"), {
              "aria-pressed": String(panel === "settings"),
            })
          : null,
        tool(
          collapsed ? "Expand" : "Collapse",
          collapsed ? "▸" : "▾",
          () => toggleCollapsed(step),
          { "aria-expanded": String(!collapsed) },
        ),
        tool("Delete", "×", () => deleteStep(chain, index)),
      ),
    );
  }

  function tool(label, icon, onclick, props) {
    return el(
      "button",
      { type: "button", class: "step-tool", "aria-label": label, title: label, onclick, ...props },
      icon,
    );
  }

  function runAfterNote(step) {
    if (!Array.isArray(step.runAfter)) return null;
    const labels = state.catalog.runAfter
      .filter((option) => step.runAfter.includes(option.status))
      .map((option) => option.label);
    return el(
      "span",
      { class: "step-run-after" },
      `Runs when the previous step ${labels.join(" or ")}`,
    );
  }

  function renderStepBody(step, action, scope) {
    const body = el("div", { class: "step-body" });
    const basic = action.inputs.filter((param) => !param.advanced);
    const advanced = action.inputs.filter((param) => param.advanced);
    if (!action.inputs.length && !action.chains.length) {
      body.append(el("p", { class: "field-help" }, action.description));
    }
    for (const param of basic) body.append(renderField(step, param, scope));
    if (advanced.length) {
      const inputs = step.inputs || {};
      body.append(
        el(
          "details",
          { class: "advanced", open: advanced.some((param) => inputs[param.name] !== undefined) },
          el("summary", {}, "Show advanced options"),
          advanced.map((param) => renderField(step, param, scope)),
        ),
      );
    }
    return body;
  }

  /** An action no connector knows (an import from elsewhere): its inputs as JSON. */
  function renderUnknownStep(step) {
    const id = nextId();
    const param = { name: "", label: "Inputs (JSON)", type: "json" };
    const area = el("textarea", {
      id,
      rows: "4",
      spellcheck: "false",
      dataset: { key: `${stepId(step)}-inputs` },
    });
    const error = el("p", { class: "field-error", hidden: true }, "Not a JSON object.");
    const bad = state.badJson.get(step);
    if (bad && bad.has("")) {
      area.value = bad.get("");
      markBadJson(step, "", area.value, area, error);
    } else {
      area.value = JSON.stringify(step.inputs || {}, null, 2);
    }
    area.addEventListener("input", () => {
      const value = convert(param, area.value);
      const valid = isObject(value);
      markBadJson(step, "", valid ? null : area.value, area, error);
      if (valid) {
        step.inputs = value;
        sync();
      }
    });
    return el(
      "div",
      { class: "step-body" },
      el(
        "p",
        { class: "field-error" },
        `No connector has the action ${step.type}; edit its inputs as JSON.`,
      ),
      el(
        "div",
        { class: "field designer-field" },
        el("label", { for: id, class: "field-label" }, param.label),
        area,
        error,
      ),
    );
  }

  function renderNested(step, action, scope) {
    const inner = {
      visible: scope.visible,
      loops: action.loop ? [...scope.loops, step] : scope.loops,
    };
    const nested = el("div", { class: `nested nested-${step.type.replace(".", "-")}` });
    for (const chain of action.chains) {
      if (chain.key === "cases") {
        nested.append(renderCases(step, chain, inner));
      } else {
        nested.append(
          el(
            "div",
            { class: "branch", dataset: { branch: chain.key } },
            el("div", { class: "branch-label" }, chain.label),
            renderChain(step[chain.key], inner),
          ),
        );
      }
    }
    return nested;
  }

  function renderCases(step, chain, scope) {
    const cases = el("div", { class: "cases" });
    step.cases.forEach((item, index) => {
      const id = nextId();
      const value = el("input", {
        type: "text",
        id,
        value: item.value === undefined || item.value === null ? "" : String(item.value),
        dataset: { key: `${stepId(step)}-case-${index}` },
        oninput: () => {
          // A number stays a number, so a case matches what ``on`` returns.
          const number = Number(value.value);
          item.value =
            typeof item.value === "number" && value.value.trim() && Number.isFinite(number)
              ? number
              : value.value;
          sync();
        },
      });
      cases.append(
        el(
          "div",
          { class: "branch case" },
          el(
            "div",
            { class: "branch-label" },
            el("label", { for: id }, `${chain.label} ${index + 1} equals`),
            value,
            button("Remove case", () => removeCase(step, index)),
          ),
          renderChain(item.actions, scope),
        ),
      );
    });
    cases.append(
      button("+ Add a case", () => {
        step.cases.push({ value: "", actions: [] });
        render();
      }),
    );
    return cases;
  }

  function removeCase(step, index) {
    const item = step.cases[index];
    if (item.actions.length && !window.confirm("Delete this case and the steps in it?")) return;
    step.cases.splice(index, 1);
    render();
  }

  // -- Inputs ---------------------------------------------------------------------------------

  function renderField(step, param, scope) {
    if (param.condition) return renderConditionField(step, param, scope);
    return renderInputField(step, param, scope);
  }

  function renderInputField(step, param, scope, extra) {
    const id = nextId();
    const value = step.inputs ? step.inputs[param.name] : undefined;
    let error = null;
    if (param.type === "json") {
      error = el("p", { class: "field-error", hidden: true }, "Not valid JSON.");
    } else if (param.type === "any") {
      error = el(
        "p",
        { class: "field-error", hidden: !isBrokenJson(value), role: "status" },
        "This is not valid JSON, so it is saved as text.",
      );
    }
    const control = renderControl(step, param, value, id, error);
    if (control.matches("input[type=text], input[type=password], textarea")) {
      state.fieldScopes.set(control, { scope, param });
    }
    const bad = state.badJson.get(step);
    if (bad && bad.has(param.name)) {
      control.value = bad.get(param.name);
      markBadJson(step, param.name, control.value, control, error);
    }
    return el(
      "div",
      { class: "field designer-field", dataset: { param: param.name } },
      el(
        "label",
        { for: id, class: "field-label" },
        param.label,
        param.required ? requiredMark() : null,
      ),
      control,
      param.help ? el("p", { class: "field-help" }, param.help) : null,
      error,
      extra,
    );
  }

  /** The control for one input: a select where the value is one of a known set, else text. */
  function renderControl(step, param, value, id, error) {
    const key = `${stepId(step)}-${param.name}`;
    const props = { id, dataset: { key } };
    const isExpression = typeof value === "string";
    if (param.type === "table" && !isExpression) {
      const options = [
        ["", "Choose a table"],
        ...[...state.tables].map(([tableId, table]) => [String(tableId), table.name]),
      ];
      return selectInput(
        step,
        param,
        options,
        value === undefined ? "" : String(value),
        props,
        Number,
      );
    }
    if (param.type === "boolean" && !isExpression) {
      const options = [
        ["", ""],
        ["true", "Yes"],
        ["false", "No"],
      ];
      return selectInput(
        step,
        param,
        options,
        value === undefined ? "" : String(value),
        props,
        (text) => text === "true",
      );
    }
    const choices = param.choices.map(([choice]) => choice);
    if (param.type === "choice" && (value === undefined || choices.includes(value))) {
      const options = [["", ""], ...param.choices];
      return selectInput(step, param, options, value === undefined ? "" : value, props, String);
    }
    const multiline = ["multiline", "json", "any"].includes(param.type);
    const control = multiline
      ? el("textarea", {
          ...props,
          rows: param.type === "json" ? "4" : "3",
          spellcheck: JSON_PARAM_TYPES.has(param.type) ? "false" : null,
        })
      : el("input", {
          ...props,
          type: param.type === "secret" ? "password" : "text",
          autocomplete: "off",
          placeholder: placeholderFor(param.type),
        });
    control.value = displayValue(param, value);
    control.addEventListener("input", () => {
      const converted = convert(param, control.value);
      if (param.type === "any") error.hidden = !isBrokenJson(converted);
      else if (error)
        markBadJson(step, param.name, converted === INVALID ? control.value : null, control, error);
      if (converted !== INVALID) setInput(step, param.name, converted);
    });
    return control;
  }

  function selectInput(step, param, options, value, props, parse) {
    const select = selectBox(options, value, props);
    select.addEventListener("change", () =>
      setInput(step, param.name, select.value === "" ? undefined : parse(select.value)),
    );
    return select;
  }

  // -- Conditions -----------------------------------------------------------------------------

  /** A condition in basic mode while it is one comparison, else as its expression. */
  function renderConditionField(step, param, scope) {
    const value = step.inputs ? step.inputs[param.name] : undefined;
    const row = parseCondition(value);
    if (row === null || state.advancedConditions.has(step)) {
      const toBasic =
        row === null
          ? null
          : button("Edit in basic mode", () => {
              state.advancedConditions.delete(step);
              render();
            });
      return renderInputField(step, param, scope, toBasic);
    }
    const key = `${stepId(step)}-${param.name}`;
    const update = () => setInput(step, param.name, conditionExpression(row));
    const boxParam = { name: param.name, type: "text", typed: false };
    const box = (side, label) => {
      const input = el("input", {
        type: "text",
        value: row[side],
        placeholder: "Choose a value",
        "aria-label": label,
        autocomplete: "off",
        spellcheck: "false",
        dataset: { key: `${key}-${side}` },
        oninput: () => {
          row[side] = input.value;
          update();
        },
      });
      state.fieldScopes.set(input, { scope, param: boxParam });
      return input;
    };
    const operator = selectBox(OPERATORS, row.operator, {
      "aria-label": "Operator",
      dataset: { key: `${key}-operator` },
    });
    operator.addEventListener("change", () => {
      row.operator = operator.value;
      update();
    });
    return el(
      "fieldset",
      { class: "field designer-field condition-row", dataset: { param: param.name } },
      el("legend", { class: "field-label" }, param.label, param.required ? requiredMark() : null),
      box("left", "First value"),
      operator,
      box("right", "Second value"),
      button("Edit in advanced mode", () => {
        state.advancedConditions.add(step);
        render();
      }),
    );
  }

  /** {left, operator, right} of a condition basic mode can show (blank when there is none
      yet), or null. */
  function parseCondition(value) {
    if (value === undefined || value === "") return { left: "", operator: "equals", right: "" };
    if (typeof value !== "string" || !value.startsWith("@") || value.startsWith("@{")) return null;
    let call = splitCall(value.slice(1).trim());
    let negated = false;
    if (call && call.name === "not" && call.args.length === 1) {
      call = splitCall(call.args[0]);
      negated = true;
    }
    if (!call || call.args.length !== 2) return null;
    const operator = negated ? `not ${call.name}` : call.name;
    if (!OPERATOR_KEYS.has(operator)) return null;
    const left = argumentText(call.args[0]);
    const right = argumentText(call.args[1]);
    return left === null || right === null ? null : { left, operator, right };
  }

  /** The name and arguments of ``name(arg, ...)``, or null when ``text`` is not one call. */
  function splitCall(text) {
    const match = /^([A-Za-z][A-Za-z0-9]*)\s*\(/.exec(text);
    if (!match) return null;
    const args = [];
    let depth = 0;
    let quoted = false;
    let from = match[0].length;
    for (let index = from; index < text.length; index += 1) {
      const char = text[index];
      if (quoted) {
        if (char === "'" && text[index + 1] === "'") index += 1;
        else if (char === "'") quoted = false;
      } else if (char === "'") quoted = true;
      else if (char === "(" || char === "[") depth += 1;
      else if ((char === ")" || char === "]") && depth > 0) depth -= 1;
      else if (char === "," && depth === 0) {
        args.push(text.slice(from, index).trim());
        from = index + 1;
      } else if (char === ")") {
        if (text.slice(index + 1).trim()) return null;
        args.push(text.slice(from, index).trim());
        return { name: match[1], args };
      }
    }
    return null;
  }

  /** What a value box shows for an argument, or null when a box would read it differently. */
  function argumentText(argument) {
    if (!argument) return null;
    if (LITERAL.test(argument)) return argument;
    const quoted = /^'((?:[^']|'')*)'$/.exec(argument);
    if (!quoted) return `@{${argument}}`;
    const text = quoted[1].replace(/''/g, "'");
    return LITERAL.test(text.trim()) || text.startsWith("@") || text.includes("@{") ? null : text;
  }

  /** The argument a value box stands for: numbers, true and false as typed, a token as its
      expression, text quoted, text with tokens joined by concat. */
  function argumentFromText(text) {
    const trimmed = text.trim();
    if (!trimmed) return "''";
    if (LITERAL.test(trimmed)) return trimmed;
    if (trimmed.startsWith("@") && !trimmed.startsWith("@{")) return trimmed.slice(1);
    const parts = templateParts(text);
    const meaningful = parts.filter((part) => part.expression || part.text.trim());
    if (meaningful.length === 1 && meaningful[0].expression) return meaningful[0].text;
    const pieces = parts.map((part) =>
      part.expression ? part.text : `'${part.text.replace(/'/g, "''")}'`,
    );
    return pieces.length === 1 ? pieces[0] : `concat(${pieces.join(", ")})`;
  }

  /** Text split into literal pieces and the expressions of its '@{...}' tokens. */
  function templateParts(text) {
    const parts = [];
    let position = 0;
    while (position < text.length) {
      const start = text.indexOf("@{", position);
      const end = start < 0 ? -1 : closingBrace(text, start + 2);
      if (end < 0) {
        parts.push({ text: text.slice(position), expression: false });
        break;
      }
      if (start > position) parts.push({ text: text.slice(position, start), expression: false });
      parts.push({ text: text.slice(start + 2, end).trim(), expression: true });
      position = end + 1;
    }
    return parts;
  }

  /** The '}' that ends a token's expression; braces inside quotes do not count. */
  function closingBrace(text, from) {
    let quoted = false;
    for (let index = from; index < text.length; index += 1) {
      if (text[index] === "'") quoted = !quoted;
      else if (text[index] === "}" && !quoted) return index;
    }
    return -1;
  }

  function conditionExpression({ left, operator, right }) {
    if (!left.trim() && !right.trim()) return undefined;
    const negated = operator.startsWith("not ");
    const name = negated ? operator.slice(4) : operator;
    const call = `${name}(${argumentFromText(left)}, ${argumentFromText(right)})`;
    return `@${negated ? `not(${call})` : call}`;
  }

  function placeholderFor(type) {
    return {
      date: "YYYY-MM-DD",
      emails: "name@example.com; other@example.com",
      url: "https://",
      integer: "0",
      number: "0",
    }[type];
  }

  function displayValue(param, value) {
    if (value === undefined || value === null) return "";
    if (typeof value === "string" && (param.type !== "json" || value.trim().startsWith("@"))) {
      return value;
    }
    const structured = isObject(value) || Array.isArray(value);
    if (param.type === "json" || (param.type === "any" && structured)) {
      return JSON.stringify(value, null, 2);
    }
    return structured ? JSON.stringify(value) : String(value);
  }

  /** The value to store for what was typed: numbers and JSON keep their type, expressions
      and other text stay text. */
  function convert(param, text) {
    if (text.trim() === "") return undefined;
    if (param.type === "integer" && /^[-+]?\d+$/.test(text.trim())) return parseInt(text, 10);
    if (param.type === "number" && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) {
      return Number(text);
    }
    if (param.type === "json" && !text.trim().startsWith("@")) {
      try {
        return JSON.parse(text);
      } catch {
        return INVALID;
      }
    }
    if (param.type === "any" && looksLikeJson(text)) {
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
    return text;
  }

  function looksLikeJson(text) {
    return /^\s*[[{]/.test(text);
  }

  /** An "any" value that was meant as JSON but is kept as text because it does not parse. */
  function isBrokenJson(value) {
    if (typeof value !== "string" || !looksLikeJson(value)) return false;
    try {
      JSON.parse(value);
      return false;
    } catch {
      return true;
    }
  }

  function setInput(step, name, value) {
    if (value === undefined) {
      if (step.inputs) delete step.inputs[name];
    } else {
      if (!step.inputs) step.inputs = {};
      step.inputs[name] = value;
    }
    sync();
  }

  /** Remember text that is not JSON (``badText``; null when the text is fine), so a redraw
      shows what was typed rather than the last value that parsed. */
  function markBadJson(step, name, badText, control, error) {
    const texts = state.badJson.get(step) || new Map();
    if (badText === null) texts.delete(name);
    else texts.set(name, badText);
    state.badJson.set(step, texts);
    error.hidden = badText === null;
    if (badText === null) control.removeAttribute("aria-invalid");
    else control.setAttribute("aria-invalid", "true");
  }

  // -- Step settings --------------------------------------------------------------------------

  function renderRunAfter(step, index) {
    const current = step.runAfter || ["Succeeded"];
    const help =
      index === 0
        ? "The first step of a chain always runs; this applies once a step comes before it."
        : "Run this step when the previous step:";
    return el(
      "fieldset",
      { class: "step-panel" },
      el("legend", {}, "Configure run after"),
      el("p", { class: "field-help" }, help),
      state.catalog.runAfter.map((option) => {
        const box = el("input", {
          type: "checkbox",
          checked: current.includes(option.status),
          dataset: { key: `${stepId(step)}-run-after-${option.status}` },
          onchange: () => setRunAfter(step, option.status, box),
        });
        return el("label", { class: "check" }, box, ` ${option.label}`);
      }),
    );
  }

  function setRunAfter(step, status, box) {
    const statuses = new Set(step.runAfter || ["Succeeded"]);
    if (box.checked) statuses.add(status);
    else statuses.delete(status);
    if (!statuses.size) {
      // A step runs after at least one outcome; the last box stays ticked.
      box.checked = true;
      return;
    }
    const ordered = state.catalog.runAfter
      .map((option) => option.status)
      .filter((s) => statuses.has(s));
    if (ordered.length === 1 && ordered[0] === "Succeeded") delete step.runAfter;
    else step.runAfter = ordered;
    render();
  }

  function renderSettings(step) {
    const policy = isObject(step.retryPolicy) ? step.retryPolicy : null;
    const key = stepId(step);
    const type = selectBox(
      [
        ["", "Default (the action's own)"],
        ...state.catalog.retryTypes.map((option) => [option.type, option.label]),
      ],
      policy ? policy.type || "" : "",
      { id: nextId(), dataset: { key: `${key}-retry-type` } },
    );
    const panel = el(
      "fieldset",
      { class: "step-panel" },
      el("legend", {}, "Retry policy"),
      el(
        "div",
        { class: "field designer-field" },
        el("label", { for: type.id, class: "field-label" }, "Type"),
        type,
      ),
    );
    type.addEventListener("change", () => {
      if (!type.value) delete step.retryPolicy;
      else if (type.value === "none") step.retryPolicy = { type: "none" };
      else
        step.retryPolicy = {
          type: type.value,
          count: (policy && policy.count) || 3,
          interval: (policy && policy.interval) || 5,
        };
      render();
    });
    if (policy && policy.type !== "none") {
      panel.append(
        retryNumber(step, "count", "Retries", `${key}-retry-count`, 0, 90),
        retryNumber(step, "interval", "Interval (seconds)", `${key}-retry-interval`, 1, 86400),
      );
    }
    return panel;
  }

  function retryNumber(step, name, label, key, min, max) {
    const id = nextId();
    const input = el("input", {
      type: "number",
      id,
      min: String(min),
      max: String(max),
      value: String(step.retryPolicy[name] ?? ""),
      dataset: { key },
    });
    input.addEventListener("input", () => {
      const number = Number(input.value);
      if (input.value !== "" && Number.isInteger(number) && number >= min && number <= max) {
        step.retryPolicy[name] = number;
        sync();
      }
    });
    return el(
      "div",
      { class: "field designer-field" },
      el("label", { for: id, class: "field-label" }, label),
      input,
    );
  }

  // -- Changing the chain ---------------------------------------------------------------------

  function openPicker(chain, index) {
    state.picker = { chain, index, query: "" };
    state.focusPicker = true;
    render();
  }

  function closePicker() {
    state.picker = null;
    render();
  }

  function renderPicker() {
    const list = el("div", { class: "picker-list" });
    const search = el("input", {
      type: "search",
      class: "picker-search",
      placeholder: "Search connectors and actions",
      "aria-label": "Search connectors and actions",
      value: state.picker.query,
      oninput: () => {
        state.picker.query = search.value;
        fillPicker(list, search.value);
      },
      onkeydown: (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          closePicker();
        }
      },
    });
    fillPicker(list, state.picker.query);
    return el(
      "div",
      { class: "action-picker", role: "group", "aria-label": "Choose an operation" },
      el(
        "div",
        { class: "picker-head" },
        el("strong", {}, "Choose an operation"),
        search,
        button("Cancel", closePicker),
      ),
      list,
    );
  }

  function fillPicker(list, query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const groups = new Map();
    for (const action of state.catalog.actions) {
      const text =
        `${action.connector} ${action.title} ${action.type} ${action.description}`.toLowerCase();
      if (!words.every((word) => text.includes(word))) continue;
      if (!groups.has(action.connectorKey)) groups.set(action.connectorKey, []);
      groups.get(action.connectorKey).push(action);
    }
    if (!groups.size) {
      list.replaceChildren(el("p", { class: "muted" }, "No action matches your search."));
      return;
    }
    list.replaceChildren(
      ...[...groups].map(([connectorKey, actions]) =>
        el(
          "section",
          { class: "picker-group" },
          el("h3", {}, badge(connectorKey, actions[0].connector), actions[0].connector),
          el(
            "ul",
            {},
            actions.map((action) => el("li", {}, pickerButton(action))),
          ),
        ),
      ),
    );
  }

  function pickerButton(action) {
    const described = nextId();
    return el(
      "button",
      {
        type: "button",
        class: "picker-action",
        "aria-label": action.title,
        "aria-describedby": described,
        onclick: () => addStep(action),
      },
      el("span", { class: "picker-action-title" }, action.title),
      el("span", { class: "picker-action-description", id: described }, action.description),
    );
  }

  function addStep(action) {
    const step = {
      name: uniqueName(toName(action.title) || "Step"),
      type: action.type,
      inputs: {},
    };
    for (const param of action.inputs) {
      if (param.default !== null && param.default !== undefined)
        step.inputs[param.name] = param.default;
    }
    for (const chain of action.chains) step[chain.key] = [];
    state.picker.chain.splice(state.picker.index, 0, step);
    state.picker = null;
    state.focusStep = step;
    render();
  }

  function moveStep(chain, index, delta) {
    const [step] = chain.splice(index, 1);
    chain.splice(index + delta, 0, step);
    render();
  }

  function deleteStep(chain, index) {
    const step = chain[index];
    const inner = withDescendants(step).length - 1;
    if (inner && !window.confirm(`Delete ${stepTitle(step)} and the ${inner} step(s) inside it?`))
      return;
    chain.splice(index, 1);
    render();
  }

  function togglePanel(step, panel) {
    if (state.panels.get(step) === panel) state.panels.delete(step);
    else state.panels.set(step, panel);
    render();
  }

  function toggleCollapsed(step) {
    if (state.collapsed.has(step)) state.collapsed.delete(step);
    else state.collapsed.add(step);
    render();
  }

  function renameStep(step, input, error) {
    const title = input.value.trim().replace(/\s+/g, " ");
    const name = toName(title);
    let problem = "";
    if (!title) problem = "Give the step a name.";
    else if (!NAME_PATTERN.test(name))
      problem = "A step name starts with a letter and holds letters, digits, spaces and _.";
    else if (name !== step.name && allNames().has(name))
      problem = `Another step is already called ${title}.`;
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) {
      // Kept until corrected, so a redraw does not quietly drop what was typed.
      state.badTitles.set(step, { text: input.value, problem });
      input.setAttribute("aria-invalid", "true");
      return;
    }
    state.badTitles.delete(step);
    input.removeAttribute("aria-invalid");
    const oldName = step.name;
    step.name = name;
    if (title === name || title === name.replace(/_/g, " ")) delete step.title;
    else step.title = title;
    if (oldName !== name) renameReferences(oldName, name);
    // The change event comes before the focus moves on: draw once it has landed.
    window.setTimeout(render, 0);
  }

  // -- Dynamic content ------------------------------------------------------------------------

  function onFocusIn(event) {
    const target = event.target;
    if (state.fieldScopes.has(target)) openDynamic(target);
    else if (!(state.dynamic && state.dynamic.panel.contains(target))) closeDynamic();
  }

  function onPointerDown(event) {
    if (!state.dynamic) return;
    const { panel, control } = state.dynamic;
    if (panel.contains(event.target) || event.target === control) return;
    // Hidden now, removed once the click has landed: removing it at once can shorten the page
    // and scroll what the pointer is on (the next "+ New step") away before the click.
    state.dynamic = null;
    panel.style.visibility = "hidden";
    const remove = () => window.setTimeout(() => panel.remove(), 0);
    document.addEventListener("pointerup", remove, { once: true });
    document.addEventListener("pointercancel", remove, { once: true });
  }

  function openDynamic(control) {
    if (state.dynamic && state.dynamic.control === control) return;
    closeDynamic();
    const panel = renderDynamicPanel(control);
    control.closest(".field").append(panel);
    state.dynamic = { panel, control };
  }

  function closeDynamic() {
    if (!state.dynamic) return;
    state.dynamic.panel.remove();
    state.dynamic = null;
  }

  /** What the focused input may refer to, nearest first: the loops it is in, the steps that
      run before it, variables, then the trigger. [{title, items: [{label, expression}]}] */
  function dynamicGroups(scope) {
    const visible = scope.visible();
    const groups = [...scope.loops]
      .reverse()
      .map((loop) => ({ title: stepTitle(loop), items: loopItems(loop, visible) }));
    for (const step of [...visible].reverse()) {
      const items = stepOutputs(step);
      if (items.length) groups.push({ title: stepTitle(step), items });
    }
    const variables = visible
      .filter(
        (step) =>
          step.type === "variables.initialize" &&
          step.inputs &&
          typeof step.inputs.name === "string",
      )
      .map((step) => ({ label: step.inputs.name, expression: `variables('${step.inputs.name}')` }));
    if (variables.length) groups.push({ title: "Variables", items: variables });
    groups.push(triggerGroup());
    return groups;
  }

  /** What ``triggerBody()`` holds: what the trigger's choice brings (the table's fields, the
      event's payload, the schema's properties), then what every trigger of its type holds. */
  function triggerGroup() {
    const trigger = state.definition.trigger;
    const kind = triggerKind(trigger.type);
    const table = kind.keys.includes("table") ? state.tables.get(trigger.table) : null;
    const event =
      kind.keys.includes("event") &&
      state.catalog.businessEvents.find((candidate) => candidate.key === trigger.event);
    const fields = [
      ...(table ? table.fields : []),
      ...(event ? event.payload : []),
      ...(kind.keys.includes("schema") ? schemaFields(trigger.schema) : []),
      ...(state.catalog.triggerFields[trigger.type] || []),
    ];
    const items = fields.map((field) => ({
      label: field.label,
      expression: field.expression || `triggerBody()?['${quoted(field.name)}']`,
    }));
    // The values before the change, of the fields the flow waits for.
    if (table && Array.isArray(trigger.fields)) {
      for (const field of table.fields.filter((f) => trigger.fields.includes(f.name))) {
        items.push({
          label: `Previous ${field.label}`,
          expression: `triggerBody()?['previous']?['${quoted(field.name)}']`,
        });
      }
    }
    const inputs = Array.isArray(trigger.inputs) ? trigger.inputs.filter((item) => item.name) : [];
    for (const item of inputs) {
      items.push({
        label: item.label || item.name,
        expression: `triggerBody()?['inputs']?['${item.name}']`,
      });
    }
    return { title: kind.title, items };
  }

  /** The top-level properties of a JSON Schema, as fields. */
  function schemaFields(schema) {
    if (!isObject(schema) || !isObject(schema.properties)) return [];
    return Object.entries(schema.properties).map(([name, property]) => ({
      name,
      label: isObject(property) && typeof property.title === "string" ? property.title : name,
      type: isObject(property) ? property.type : undefined,
    }));
  }

  /** ``text`` inside a '...' of an expression. */
  function quoted(text) {
    return String(text).replace(/'/g, "''");
  }

  /** The fields of the record a step returns: its table's, when it names one. */
  function recordFields(step) {
    const tableId = step.inputs ? step.inputs.table : undefined;
    const table = typeof tableId === "number" ? state.tables.get(tableId) : null;
    return table ? table.fields : [];
  }

  function stepOutputs(step) {
    const action = state.actions.get(step.type);
    if (!action || action.chains.length) return [];
    const name = step.name;
    const items = [];
    const declared = new Set(action.outputs.map((output) => output.path));
    if (!declared.has("body")) items.push({ label: "Body", expression: `body('${name}')` });
    for (const output of action.outputs) {
      const expression =
        output.path === "body" ? `body('${name}')` : `outputs('${name}')?['${output.path}']`;
      items.push({ label: output.label, expression });
    }
    if (declared.has("body")) {
      for (const field of recordFields(step)) {
        if (!declared.has(`body/${field.name}`)) {
          items.push({
            label: field.label,
            expression: `outputs('${name}')?['body/${field.name}']`,
          });
        }
      }
    }
    return items;
  }

  /** ``items('Loop')``, and the fields of the records it loops over when they are known. */
  function loopItems(loop, visible) {
    const name = loop.name;
    const items = [{ label: "Current item", expression: `items('${name}')` }];
    const source =
      loop.inputs && typeof loop.inputs.items === "string"
        ? /\b(?:body|outputs)\('([A-Za-z0-9_]+)'\)/.exec(loop.inputs.items)
        : null;
    const step = source ? visible.find((candidate) => candidate.name === source[1]) : null;
    for (const field of step ? recordFields(step) : []) {
      items.push({ label: field.label, expression: `items('${name}')?['${field.name}']` });
    }
    return items;
  }

  function renderDynamicPanel(control) {
    const { scope } = state.fieldScopes.get(control);
    const groups = dynamicGroups(scope);
    const list = el("div", { class: "dynamic-list" });
    const search = el("input", {
      type: "search",
      class: "dynamic-search",
      placeholder: "Search dynamic content",
      "aria-label": "Search dynamic content",
      oninput: () => fillDynamic(list, groups, search.value, control),
    });
    fillDynamic(list, groups, "", control);
    const dynamicPane = el("div", { class: "dynamic-pane" }, search, list);
    const expressionPane = renderExpressionPane(control);
    const tabs = [
      ["Dynamic content", dynamicPane],
      ["Expression", expressionPane],
    ].map(([label, pane], index) =>
      el(
        "button",
        {
          type: "button",
          role: "tab",
          class: "dynamic-tab",
          "aria-selected": String(index === 0),
          onclick: (event) => selectTab(event.currentTarget, pane),
        },
        label,
      ),
    );
    expressionPane.hidden = true;
    return el(
      "div",
      { class: "dynamic-panel", role: "dialog", "aria-label": "Add dynamic content" },
      el(
        "div",
        { class: "dynamic-tabs", role: "tablist" },
        tabs,
        button("Close", closeDynamic, { class: "designer-button dynamic-close" }),
      ),
      dynamicPane,
      expressionPane,
    );
  }

  function selectTab(tab, pane) {
    const panel = tab.closest(".dynamic-panel");
    for (const other of panel.querySelectorAll("[role=tab]"))
      other.setAttribute("aria-selected", String(other === tab));
    for (const other of panel.querySelectorAll(".dynamic-pane, .expression-pane"))
      other.hidden = other !== pane;
    const input = pane.querySelector("input");
    if (input) input.focus();
  }

  function renderExpressionPane(control) {
    const input = el("input", {
      type: "text",
      class: "expression-input",
      placeholder: "concat('Order ', triggerBody()?['number'])",
      "aria-label": "Expression",
      spellcheck: "false",
      autocomplete: "off",
    });
    const add = () => {
      const text = input.value.trim().replace(/^@\{?/, "").replace(/\}$/, "");
      if (text) insertToken(control, text);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        add();
      }
    });
    return el(
      "div",
      { class: "expression-pane" },
      el(
        "div",
        { class: "expression-row" },
        input,
        button("Add", add, { class: "designer-button button-primary" }),
      ),
      el(
        "p",
        { class: "field-help" },
        "Functions such as concat, add, equals, if, formatDateTime and utcNow; text in single quotes.",
      ),
    );
  }

  function fillDynamic(list, groups, query, control) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const sections = groups
      .map((group) => ({
        title: group.title,
        items: group.items.filter((item) =>
          words.every((word) => `${group.title} ${item.label}`.toLowerCase().includes(word)),
        ),
      }))
      .filter((group) => group.items.length)
      .map((group) =>
        el(
          "section",
          { class: "dynamic-group" },
          el("h4", {}, group.title),
          el(
            "ul",
            {},
            group.items.map((item) =>
              el(
                "li",
                {},
                el(
                  "button",
                  {
                    type: "button",
                    class: "dynamic-item",
                    title: item.expression,
                    onclick: () => insertToken(control, item.expression),
                  },
                  item.label,
                ),
              ),
            ),
          ),
        ),
      );
    list.replaceChildren(
      ...(sections.length ? sections : [el("p", { class: "muted" }, "Nothing matches.")]),
    );
  }

  /** Whether ``text`` (JSON up to the cursor) ends inside a "string". */
  function insideJsonString(text) {
    let inside = false;
    for (let index = 0; index < text.length; index += 1) {
      if (inside && text[index] === "\\") index += 1;
      else if (text[index] === '"') inside = !inside;
    }
    return inside;
  }

  /** Put ``expression`` where the cursor was: inside an expression bare, in a typed input that
      is otherwise empty as '@expr' (it keeps its type), where JSON expects a value as
      "@expr", in text (and inside a JSON string) as '@{expr}'. */
  function insertToken(control, expression) {
    const { param } = state.fieldScopes.get(control);
    const start = control.selectionStart ?? control.value.length;
    const end = control.selectionEnd ?? start;
    const rest = control.value.slice(0, start) + control.value.slice(end);
    let token = `@{${expression}}`;
    if (control.value.startsWith("@") && !control.value.startsWith("@{") && start > 0)
      token = expression;
    else if (!rest.trim() && (param.typed || TYPED_PARAM_TYPES.has(param.type)))
      token = `@${expression}`;
    else if (
      JSON_PARAM_TYPES.has(param.type) &&
      looksLikeJson(rest) &&
      !insideJsonString(control.value.slice(0, start))
    )
      token = `"@${expression}"`;
    control.focus();
    control.setRangeText(token, start, end, "end");
    control.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // -- Code view and saving -------------------------------------------------------------------

  function toggleCode() {
    if (state.codeBox.classList.contains("is-open")) {
      const read = readDefinition(state.textarea.value);
      if (read.error) {
        state.codeError.textContent = `${read.error} Fix it here to go back to the designer.`;
        state.codeError.hidden = false;
        return;
      }
      state.definition = read.definition;
      state.picker = null;
      showCode(false);
      render();
    } else {
      sync();
      showCode(true);
    }
  }

  function showCode(open, message) {
    state.codeBox.classList.toggle("is-open", open);
    state.root.hidden = open;
    state.codeToggle.textContent = open ? "Designer" : "Code view";
    state.codeToggle.setAttribute("aria-pressed", String(open));
    state.codeError.textContent = message || "";
    state.codeError.hidden = !message;
    if (open) state.textarea.focus();
  }

  /** Problems the server would refuse, found before the round trip. The server still checks. */
  function validate() {
    const errors = [];
    const flowName = state.form.querySelector("[name=name]");
    if (!flowName.value.trim()) errors.push("Give the flow a name.");
    errors.push(...triggerErrors(state.definition.trigger));
    const names = new Set();
    for (const step of allSteps()) {
      const where = stepTitle(step) || "A step";
      if (!NAME_PATTERN.test(step.name || ""))
        errors.push(`${where}: the step name must start with a letter.`);
      else if (names.has(step.name)) errors.push(`${where}: another step has the same name.`);
      names.add(step.name);
      const action = state.actions.get(step.type);
      for (const param of action ? action.inputs : []) {
        const value = step.inputs ? step.inputs[param.name] : undefined;
        if (
          param.required &&
          (value === undefined || value === "" || (Array.isArray(value) && !value.length))
        ) {
          errors.push(`${where}: ${param.label} is required.`);
        }
      }
      const bad = state.badJson.get(step);
      if (bad && bad.size) errors.push(`${where}: an input holds text that is not valid JSON.`);
      const refused = state.badTitles.get(step);
      if (refused)
        errors.push(`${where}: the new name ${refused.text} is refused: ${refused.problem}`);
    }
    return errors;
  }

  /** The trigger's problems the server would refuse, in its words where it has them. */
  function triggerErrors(trigger) {
    const kind = triggerKind(trigger.type);
    const errors = [];
    const unknown = Object.keys(trigger).filter(
      (key) => key !== "type" && !kind.keys.includes(key),
    );
    if (unknown.length) {
      errors.push(`Trigger: unknown keys ${unknown.join(", ")}; remove them in the code view.`);
    }
    if (trigger.type === "selected_record" && !state.tables.has(trigger.table)) {
      errors.push("Trigger: choose the table the flow runs on.");
    } else if (trigger.type === "approval_requested") {
      if (!approvalKind(trigger.table)) {
        errors.push("Trigger: choose what is sent for approval.");
      }
      (Array.isArray(trigger.filters) ? trigger.filters : []).forEach((filter, index) => {
        if (!filter.field) errors.push(`Trigger condition ${index + 1}: choose a field.`);
      });
    } else if (kind.keys.includes("table") && !state.tables.has(trigger.table)) {
      errors.push("Trigger: choose the table whose records start the flow.");
    }
    if (
      kind.keys.includes("event") &&
      !state.catalog.businessEvents.some((event) => event.key === trigger.event)
    ) {
      errors.push("Trigger: choose a business event from the catalogue.");
    }
    if (trigger.type === "recurrence" && !frequencyOption(trigger.frequency)) {
      errors.push("Recurrence: choose a frequency.");
    }
    for (const { label, problem } of badTriggerTexts(trigger).values()) {
      errors.push(`Trigger, ${label}: ${problem}`);
    }
    (Array.isArray(trigger.conditions) ? trigger.conditions : []).forEach((condition, index) => {
      if (!condition.trim().startsWith("@")) {
        errors.push(
          `Trigger condition ${index + 1} must be an expression that starts with @; ` +
            "remove it if it is not needed.",
        );
      }
    });
    const inputNames = new Set();
    (Array.isArray(trigger.inputs) ? trigger.inputs : []).forEach((item, index) => {
      if (!NAME_PATTERN.test(item.name || "")) {
        errors.push(
          `Trigger input ${index + 1}: the name must start with a letter and hold only letters, digits and _.`,
        );
      } else if (inputNames.has(item.name)) {
        errors.push(`Trigger input ${item.name} is defined twice.`);
      }
      inputNames.add(item.name);
    });
    return errors;
  }

  function onSubmit(event) {
    if (state.codeBox.classList.contains("is-open")) return;
    const errors = validate();
    state.errorsBox.replaceChildren(
      el("p", {}, "The flow cannot be saved yet:"),
      el(
        "ul",
        {},
        errors.map((error) => el("li", {}, error)),
      ),
    );
    state.errorsBox.hidden = !errors.length;
    if (errors.length) {
      event.preventDefault();
      state.errorsBox.scrollIntoView({ block: "nearest" });
      return;
    }
    sync();
  }

  function onKeyDown(event) {
    if (event.key === "Escape" && state.dynamic) {
      const { control } = state.dynamic;
      closeDynamic();
      control.focus();
    }
    // Enter in a one-line input would submit the form: in the designer it only ends the edit.
    if (
      event.key === "Enter" &&
      event.target.matches("input") &&
      state.root.contains(event.target)
    ) {
      event.preventDefault();
      if (event.target.classList.contains("step-title")) event.target.blur();
    }
  }

  // -- Start ----------------------------------------------------------------------------------

  function loadCatalog(catalog) {
    state.catalog = catalog;
    for (const action of catalog.actions) state.actions.set(action.type, action);
    for (const connector of catalog.connectors) state.connectors.set(connector.key, connector);
    for (const table of catalog.tables) state.tables.set(table.id, table);
  }

  function init(form) {
    state.form = form;
    state.textarea = form.querySelector("textarea[name=definition]");
    state.codeBox = form.querySelector("[data-designer-code]");
    state.root = form.querySelector("[data-designer-canvas]");
    state.errorsBox = form.querySelector("[data-designer-errors]");
    loadCatalog(JSON.parse(document.getElementById("designer-catalog").textContent));
    state.codeError = el("p", { class: "field-error", hidden: true, role: "alert" });
    state.codeBox.prepend(state.codeError);
    state.codeToggle = el(
      "button",
      { type: "button", class: "button", onclick: toggleCode },
      "Code view",
    );
    form.querySelector("[data-designer-buttons]").append(state.codeToggle);
    form.addEventListener("submit", onSubmit);
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("keydown", onKeyDown);
    form.classList.add("has-designer");
    const read = readDefinition(state.textarea.value);
    if (read.error) {
      showCode(true, `${read.error} Fix it here to go back to the designer.`);
      return;
    }
    state.definition = read.definition;
    state.root.hidden = false;
    render();
  }

  return { init };
})();

const flowDesignerForm = document.querySelector("[data-flow-designer]");
if (flowDesignerForm) FlowDesigner.init(flowDesignerForm);
