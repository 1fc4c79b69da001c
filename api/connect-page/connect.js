// The connect page: one end user links (or reconnects) one vendor account for a connect session.
// Served by the API under a strict Content-Security-Policy: this file and connect.css are all it loads,
// every element is built with the DOM API (server text is never parsed as HTML), and it talks only to
// /connect/api with the session token. Secrets typed here live in their inputs until the API accepted
// them, then the form is gone; nothing secret is ever stored.
/* global window, document, fetch, location, history, URLSearchParams, setTimeout, clearTimeout */
(function () {
  'use strict';

  const API = '/connect/api';
  const sessionId = location.pathname.split('/').filter(Boolean).pop() || '';
  const storageKey = 'tether.connect.' + sessionId;
  const main = document.getElementById('main');
  const title = document.getElementById('title');
  const view = document.getElementById('view');
  const alertBox = document.getElementById('alert');
  const announcer = document.getElementById('announce');

  let token = null;
  /** The last answer of GET /session. */
  let session = null;
  /** What is on screen, so a poll re-renders only when the answer changed. */
  let shownKey = null;
  let pollTimer = null;
  let chosenVendor = null;
  let finishing = false;
  /** Non-secret values typed on this page (address, client id, settings), to refill the form on a retry. */
  const draft = {};

  // ---- plumbing ---------------------------------------------------------------------------------

  /**
   * This tab's session storage, which keeps the token across the trip through a vendor's consent page.
   * A browser may refuse storage to a page framed by another site: then the token lives in memory only.
   */
  const tabStorage = (() => {
    try {
      const storage = window.sessionStorage;
      storage.getItem(storageKey);
      return storage;
    } catch {
      const memory = new Map();
      return {
        getItem: (key) => (memory.has(key) ? memory.get(key) : null),
        setItem: (key, value) => memory.set(key, value),
        removeItem: (key) => memory.delete(key),
      };
    }
  })();

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'on') for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
      // Properties, not attributes: what the user typed never shows up in the page's markup.
      else if (name === 'value') node.value = value;
      else if (name === 'checked') node.checked = true;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of [].concat(children === undefined ? [] : children)) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  const para = (text, className) => el('p', { text, class: className });
  const button = (text, onClick, secondary) =>
    el('button', { type: 'button', class: secondary ? 'secondary' : null, text, on: { click: onClick } });

  /** One view at a time: its title in the page's one h1, which takes the focus so it is read first. */
  function show(key, text, nodes) {
    title.textContent = text;
    document.title = text;
    view.replaceChildren(...nodes.filter(Boolean));
    main.setAttribute('aria-busy', 'false');
    shownKey = key;
    title.focus();
  }

  function setAlert(text) {
    alertBox.textContent = text || '';
  }

  function announce(text) {
    announcer.textContent = '';
    setTimeout(() => {
      announcer.textContent = text;
    }, 50);
  }

  async function call(method, path, body) {
    const headers = { authorization: 'Bearer ' + token };
    if (body) headers['content-type'] = 'application/json';
    const res = await fetch(API + path, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'omit',
      cache: 'no-store',
    });
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const error = new Error((data && data.message) || 'the service answered HTTP ' + res.status);
      error.status = res.status;
      error.code = data && data.error;
      error.issues = (data && data.issues) || [];
      throw error;
    }
    return data;
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function poll(ms) {
    stopPolling();
    pollTimer = setTimeout(async () => {
      try {
        session = await call('GET', '/session');
        route(true);
      } catch (error) {
        fail(error);
      }
    }, ms);
  }

  const vendorById = (id) => session.vendors.find((v) => v.id === id);
  const currentVendor = () =>
    session.connection
      ? vendorById(session.connection.vendor)
      : chosenVendor || (session.vendors.length === 1 ? session.vendors[0] : null);
  const returnLabel = () => (session.returnTo ? 'Return to ' + session.returnTo.host : null);

  // ---- what to show ---------------------------------------------------------------------------

  function route(fromPoll) {
    const p = session.progress;
    const key = [p.outcome, p.message, p.missingScopes.map((m) => m.scope).join(',')].join('|');
    if (fromPoll && key === shownKey) return schedule(p.outcome);
    const vendor = currentVendor();
    switch (p.outcome) {
      case 'not_started':
        if (session.mode === 'reconnect' && vendor.installs) showInstall(vendor, p, key);
        else if (session.mode === 'reconnect') showForm(vendor, 'reconnect', key);
        else if (vendor) showForm(vendor, 'first', key);
        else showChoice(key);
        break;
      case 'checking':
        showChecking(vendor, key);
        break;
      case 'active':
        showConnected(vendor, key);
        break;
      case 'insufficient_scopes':
        showMissing(vendor, p, key);
        break;
      case 'invalid_credentials':
      case 'invalid_configuration':
      case 'rotation_rejected':
        showForm(vendor, session.mode === 'reconnect' ? 'reconnect' : 'retry', key, p);
        break;
      case 'vendor_unavailable':
        showUnavailable(vendor, p, key);
        break;
      case 'install_required':
      case 'install_denied':
        showInstall(vendor, p, key);
        break;
      default:
        showClosed(p, key);
    }
    schedule(p.outcome);
  }

  function schedule(outcome) {
    if (outcome === 'checking') poll(1000);
    else if (outcome === 'vendor_unavailable') poll(5000);
    else stopPolling();
  }

  function showChoice(key) {
    const name = 'vendor';
    const error = el('p', { id: 'vendor-error', class: 'error' });
    const options = session.vendors.map((v, i) =>
      el('label', { class: 'choice' }, [
        el('input', { type: 'radio', name, value: v.id, checked: i === 0 && session.vendors.length === 1 }),
        el('span', { text: v.name }),
      ]),
    );
    const form = el('form', { method: 'post', novalidate: true }, [
      el('fieldset', { 'aria-describedby': 'vendor-error' }, [
        el('legend', { text: 'Which service do you want to connect?' }),
        ...options,
        error,
      ]),
      el('div', { class: 'actions' }, [el('button', { type: 'submit', text: 'Continue' })]),
    ]);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const picked = form.querySelector('input[name=vendor]:checked');
      if (!picked) {
        error.textContent = 'Choose a service to continue.';
        setAlert('Choose a service to continue.');
        form.querySelector('input[name=vendor]').focus();
        return;
      }
      setAlert('');
      chosenVendor = vendorById(picked.value);
      showForm(chosenVendor, 'first', 'form');
    });
    show(key, 'Connect an account', [
      para('Choose the service to link. You can read what it needs before you enter anything.'),
      form,
    ]);
  }

  function setupSection(vendor) {
    return [
      el('h2', { text: 'Before you start' }),
      el(
        'ol',
        { class: 'steps' },
        vendor.setupSteps.map((step) => el('li', { text: step })),
      ),
      el('h2', { text: 'Required permissions' }),
      el(
        'ul',
        { class: 'scopes' },
        vendor.permissions.map((p) =>
          el('li', {}, [
            el('code', { text: p.scope }),
            ' ',
            p.purpose,
            p.optional ? el('span', { class: 'tag', text: 'optional' }) : null,
          ]),
        ),
      ),
    ];
  }

  /** mode: first (everything required), retry (left empty = kept), reconnect (credentials only). */
  function showForm(vendor, mode, key, problem) {
    stopPolling();
    const connection = session.connection;
    const fields = [];
    const heading = problem
      ? problemTitle(vendor, problem)
      : (mode === 'reconnect' ? 'Reconnect ' : 'Connect ') + vendor.name;
    const intro = [];
    if (problem) {
      setAlert(problemText(vendor, problem));
      if (problem.missingScopes.length)
        intro.push(missingList(problem.missingScopes), para('Where: ' + vendor.grantPermissions));
    }
    if (mode === 'reconnect' && connection) {
      intro.push(para('Address: ' + connection.instanceUrl, 'muted'));
      intro.push(para('Enter the new credentials. A field left empty keeps its current value.'));
    } else if (mode === 'retry') {
      intro.push(
        para('Correct what is wrong and try again. A secret left empty keeps the one you entered before.'),
      );
    }

    if (mode !== 'reconnect' && !vendor.instanceUrl.fixed) fields.push(instanceUrlField(vendor, mode));
    for (const field of vendor.credentialFields) fields.push(inputField(field, 'credentials', mode));
    if (mode !== 'reconnect' && vendor.settingsFields.length) {
      fields.push(el('h2', { text: 'Options' }));
      for (const field of vendor.settingsFields) fields.push(inputField(field, 'settings', mode));
    }
    const actions = [el('button', { type: 'submit', text: mode === 'first' ? 'Connect' : 'Try again' })];
    if (mode === 'first' && !session.connection && session.vendors.length > 1) {
      actions.push(
        button(
          'Choose another service',
          () => {
            chosenVendor = null;
            setAlert('');
            showChoice('choice');
          },
          true,
        ),
      );
    }
    if (mode !== 'first' && session.returnTo) actions.push(button(returnLabel(), finish, true));
    const form = el('form', { method: 'post', novalidate: true }, [
      ...fields,
      el('div', { class: 'actions' }, actions),
    ]);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      submit(form, vendor, mode);
    });
    show(key, heading, [
      ...intro,
      ...(mode === 'reconnect' || problem ? [] : setupSection(vendor)),
      form,
      ...(mode === 'reconnect' || problem ? setupSection(vendor) : []),
    ]);
  }

  function problemTitle(vendor, problem) {
    if (problem.outcome === 'invalid_configuration') return 'Something in the setup needs fixing';
    if (problem.outcome === 'rotation_rejected') return 'The new credentials were not accepted';
    return vendor.name + ' did not accept these credentials';
  }

  function problemText(vendor, problem) {
    const said = problem.message ? vendor.name + ' said: ' + problem.message.replace(/\.$/, '') + '. ' : '';
    if (problem.outcome === 'rotation_rejected') {
      return said + 'Nothing changed: the connection keeps working with its current credentials.';
    }
    if (problem.outcome === 'invalid_configuration')
      return said + 'Check the address and the options, then try again.';
    return said + 'Check the credentials, then try again.';
  }

  function fieldIds(key) {
    const id = 'f-' + key.replace(/[^A-Za-z0-9]/g, '-');
    return { id, help: id + '-help', error: id + '-error', output: id + '-output' };
  }

  function fieldShell(label, ids, help, control, extra) {
    return el('div', { class: 'field' }, [
      el('label', { for: ids.id, text: label }),
      control,
      help ? el('p', { id: ids.help, class: 'help', text: help }) : null,
      extra || null,
      el('p', { id: ids.error, class: 'error' }),
    ]);
  }

  function instanceUrlField(vendor, mode) {
    const key = 'instanceUrl';
    const ids = fieldIds(key);
    const optional = vendor.instanceUrl.default !== null;
    const stored = mode === 'retry' && session.connection ? session.connection.instanceUrl : '';
    const input = el('input', {
      type: 'text',
      id: ids.id,
      name: key,
      'data-key': key,
      inputmode: 'url',
      autocomplete: 'url',
      spellcheck: 'false',
      autocapitalize: 'off',
      required: !optional,
      'aria-describedby': [ids.help, ids.output, ids.error].join(' '),
      value: draft[key] !== undefined ? draft[key] : stored,
    });
    const output = el('p', { id: ids.output, class: 'help', 'aria-live': 'polite' });
    input.addEventListener('change', () => checkInstanceUrl(vendor, input, output));
    const help = vendor.instanceUrl.help + ' Example: ' + vendor.instanceUrl.example;
    return fieldShell(vendor.instanceUrl.label + (optional ? ' (optional)' : ''), ids, help, input, output);
  }

  async function checkInstanceUrl(vendor, input, output) {
    const form = input.form;
    try {
      const answer = await call('POST', '/instance-url', {
        vendor: vendor.id,
        instanceUrl: input.value,
        settings: collectSettings(form, vendor),
      });
      output.textContent = 'Will be saved as ' + answer.url;
      markField(form, 'instanceUrl', null);
    } catch (error) {
      output.textContent = '';
      const issue = (error.issues || []).find((i) => i.field === 'body.instanceUrl');
      if (issue) markField(form, 'instanceUrl', issue.message);
    }
  }

  function inputField(field, group, mode) {
    const key = group + '.' + field.name;
    const ids = fieldIds(key);
    const keeps = group === 'credentials' && mode !== 'first';
    const required = field.required && !keeps;
    const label = field.label + (required ? '' : ' (optional)');
    const current = currentValue(field, group, mode, key);
    const keepNote =
      mode === 'reconnect'
        ? 'Leave empty to keep the current value.'
        : 'Leave empty to keep what you entered before.';
    const help = [field.help && field.help.replace(/([^.!?])$/, '$1.'), keeps ? keepNote : null]
      .filter(Boolean)
      .join(' ');
    const describedBy = [help ? ids.help : null, ids.error].filter(Boolean).join(' ');

    if (field.kind === 'checkboxes') {
      const chosen = Array.isArray(current) ? current : [];
      return el('fieldset', { class: 'field', 'data-key': key, 'aria-describedby': describedBy }, [
        el('legend', { text: label }),
        ...field.options.map((option) =>
          el('label', { class: 'choice' }, [
            el('input', {
              type: 'checkbox',
              name: key,
              value: option.value,
              checked: option.fixed || chosen.includes(option.value),
              disabled: option.fixed,
            }),
            el('span', {}, [
              el('code', { text: option.label }),
              option.help ? ' ' + option.help : '',
              option.fixed ? el('span', { class: 'tag', text: 'required' }) : null,
            ]),
          ]),
        ),
        field.help ? el('p', { id: ids.help, class: 'help', text: field.help }) : null,
        el('p', { id: ids.error, class: 'error' }),
      ]);
    }
    if (field.kind === 'checkbox') {
      return el('div', { class: 'field' }, [
        el('label', { class: 'choice' }, [
          el('input', {
            type: 'checkbox',
            id: ids.id,
            name: key,
            'data-key': key,
            checked: current === true,
            'aria-describedby': describedBy,
          }),
          el('span', { text: label }),
        ]),
        field.help ? el('p', { id: ids.help, class: 'help', text: field.help }) : null,
        el('p', { id: ids.error, class: 'error' }),
      ]);
    }
    let control;
    if (field.kind === 'select') {
      control = el(
        'select',
        { id: ids.id, name: key, 'data-key': key, 'aria-describedby': describedBy },
        field.options.map((option) =>
          el('option', { value: option.value, text: option.label, selected: option.value === current }),
        ),
      );
      control.value = current === undefined ? field.options[0].value : current;
      if (group === 'settings') {
        control.addEventListener('change', () => {
          const urlInput = control.form.querySelector('[data-key=instanceUrl]');
          if (urlInput)
            checkInstanceUrl(
              currentVendor() || chosenVendor,
              urlInput,
              control.form.querySelector('#' + fieldIds('instanceUrl').output),
            );
        });
      }
    } else {
      control = el('input', {
        type: field.kind === 'secret' ? 'password' : field.kind === 'date' ? 'date' : 'text',
        id: ids.id,
        name: key,
        'data-key': key,
        autocomplete: 'off',
        spellcheck: 'false',
        autocapitalize: 'off',
        required,
        maxlength: field.maxLength,
        'aria-describedby': describedBy,
        value:
          field.kind === 'secret'
            ? ''
            : current === undefined
              ? ''
              : field.kind === 'date'
                ? String(current).slice(0, 10)
                : current,
      });
    }
    return fieldShell(label, ids, help, control);
  }

  function currentValue(field, group, mode, key) {
    if (draft[key] !== undefined) return draft[key];
    if (
      group === 'settings' &&
      mode === 'retry' &&
      session.connection &&
      session.connection.settings[field.name] !== undefined
    ) {
      return session.connection.settings[field.name];
    }
    return field.default;
  }

  function collectSettings(form, vendor) {
    const settings = {};
    for (const field of vendor.settingsFields) {
      const key = 'settings.' + field.name;
      if (field.kind === 'checkboxes') {
        settings[field.name] = [...form.querySelectorAll('input[name="' + key + '"]')]
          .filter((c) => c.checked)
          .map((c) => c.value);
        continue;
      }
      const control = form.querySelector('[data-key="' + key + '"]');
      if (!control) continue;
      if (field.kind === 'checkbox') settings[field.name] = control.checked;
      else if (field.kind === 'date') {
        if (control.value) settings[field.name] = control.value + 'T00:00:00Z';
      } else if (control.value !== '') settings[field.name] = control.value;
    }
    return settings;
  }

  function markField(form, key, message) {
    const ids = fieldIds(key);
    const error = form.querySelector('#' + ids.error);
    if (error) error.textContent = message || '';
    const control = form.querySelector('[data-key="' + key + '"]');
    if (!control) return null;
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
    return control;
  }

  /** Problems in the order of the form, so focus goes to the first one a reader meets. */
  function validate(form, vendor, mode) {
    const problems = [];
    if (mode !== 'reconnect' && !vendor.instanceUrl.fixed && vendor.instanceUrl.default === null) {
      const input = form.querySelector('[data-key=instanceUrl]');
      if (input.value.trim() === '')
        problems.push(['instanceUrl', 'Enter your ' + vendor.instanceUrl.label + '.']);
    }
    for (const field of vendor.credentialFields) {
      const key = 'credentials.' + field.name;
      const value = form.querySelector('[data-key="' + key + '"]').value;
      const required = field.required && mode === 'first';
      if (value.trim() === '') {
        if (required) problems.push([key, 'Enter the ' + field.label + '.']);
      } else if (field.pattern && !safeTest(field.pattern, value.trim())) {
        problems.push([key, (field.help || field.label) + ': this does not look right.']);
      }
    }
    return problems;
  }

  function safeTest(pattern, value) {
    try {
      return new RegExp(pattern, 'u').test(value);
    } catch {
      return true;
    }
  }

  function showProblems(form, problems) {
    for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
    for (const error of form.querySelectorAll('.error')) error.textContent = '';
    let first = null;
    const lines = [];
    for (const [key, message] of problems) {
      // body.settings.scopes.0 → settings.scopes: the field, not the item.
      const field = /^(credentials|settings)\./.test(key)
        ? key.split('.').slice(0, 2).join('.')
        : key.split('.')[0];
      const control = markField(form, field, message);
      if (control && !first)
        first = control.matches('fieldset') ? control.querySelector('input:not([disabled])') : control;
      lines.push(message);
    }
    setAlert((problems.length > 1 ? 'Fix ' + problems.length + ' problems: ' : '') + lines.join(' '));
    if (first) first.focus();
  }

  async function submit(form, vendor, mode) {
    const problems = validate(form, vendor, mode);
    if (problems.length) return showProblems(form, problems);
    const body = { vendor: vendor.id, credentials: {} };
    for (const field of vendor.credentialFields) {
      const value = form.querySelector('[data-key="credentials.' + field.name + '"]').value;
      if (value.trim() !== '') body.credentials[field.name] = value;
    }
    if (mode !== 'reconnect') {
      body.settings = collectSettings(form, vendor);
      const urlInput = form.querySelector('[data-key=instanceUrl]');
      if (urlInput) body.instanceUrl = urlInput.value.trim();
    }
    const controls = [...form.querySelectorAll('input, select, button')];
    const wasDisabled = controls.map((c) => c.disabled);
    controls.forEach((c) => (c.disabled = true));
    announce('Sending…');
    setAlert('');
    try {
      const answer = await call('POST', '/attempts', body);
      // Accepted: keep what is not secret for a retry; the secrets go with the form.
      if (body.instanceUrl !== undefined) draft.instanceUrl = body.instanceUrl;
      for (const field of vendor.credentialFields)
        if (field.kind !== 'secret' && body.credentials[field.name])
          draft['credentials.' + field.name] = body.credentials[field.name];
      for (const [name, value] of Object.entries(body.settings || {})) draft['settings.' + name] = value;
      for (const input of form.querySelectorAll('input[type=password]')) input.value = '';
      session = answer;
      if (answer.authorizeUrl) return openConsentPage(vendor, answer.authorizeUrl);
      route(false);
    } catch (error) {
      controls.forEach((c, i) => (c.disabled = wasDisabled[i]));
      if (error.status === 400 && error.issues.length) {
        return showProblems(
          form,
          error.issues.map((issue) => [issue.field.replace(/^body\./, ''), issue.message]),
        );
      }
      fail(error);
    }
  }

  function showChecking(vendor, key) {
    show(key, 'Checking with ' + (vendor ? vendor.name : 'the service'), [
      el('div', { class: 'spinner', 'aria-hidden': 'true' }),
      para('Tether is getting a token and checking each permission. This usually takes a few seconds.'),
    ]);
    announce('Checking…');
  }

  function missingList(missing) {
    return el(
      'ul',
      { class: 'scopes' },
      missing.map((m) => el('li', {}, [el('code', { text: m.scope }), ' ', m.purpose])),
    );
  }

  function showMissing(vendor, p, key) {
    setAlert('');
    const actions = [
      button('Check again', checkAgain),
      button(
        'Enter other credentials',
        () => showForm(vendor, session.mode === 'reconnect' ? 'reconnect' : 'retry', 'form'),
        true,
      ),
    ];
    if (session.returnTo) actions.push(button(returnLabel(), finish, true));
    show(key, 'Some permissions are missing', [
      para(vendor.name + ' accepted the credentials but did not grant every permission Tether needs:'),
      missingList(p.missingScopes),
      el('h2', { text: 'Where to grant them' }),
      para(vendor.grantPermissions),
      para('Then check again: Tether asks ' + vendor.name + ' for a new token and checks each permission.'),
      el('div', { class: 'actions' }, actions),
    ]);
  }

  async function checkAgain(event) {
    event.target.disabled = true;
    announce('Checking again…');
    try {
      session = await call('POST', '/check-again');
      route(false);
    } catch (error) {
      event.target.disabled = false;
      fail(error);
    }
  }

  function showUnavailable(vendor, p, key) {
    setAlert('');
    const actions = [
      button('Try now', checkAgain),
      button(
        'Correct the details',
        () => showForm(vendor, session.mode === 'reconnect' ? 'reconnect' : 'retry', 'form'),
        true,
      ),
    ];
    if (session.returnTo) actions.push(button(returnLabel(), finish, true));
    show(key, vendor.name + ' cannot be reached right now', [
      p.message ? para('What happened: ' + p.message) : null,
      el('div', { class: 'notice' }, [
        para(
          'Tether keeps trying by itself, waiting a little longer after each failed try. You can close this page: the connection becomes active as soon as ' +
            vendor.name +
            ' answers.',
        ),
      ]),
      para('If the address or the credentials may be wrong, correct them.'),
      el('div', { class: 'actions' }, actions),
    ]);
  }

  function showInstall(vendor, p, key) {
    setAlert(
      p.outcome === 'install_denied' ? 'The install was not approved on the consent page.' : installProblem(),
    );
    const actions = [
      button('Open the consent page', async (event) => {
        event.target.disabled = true;
        try {
          const answer = await call('POST', '/install');
          openConsentPage(vendor, answer.authorizeUrl);
        } catch (error) {
          event.target.disabled = false;
          fail(error);
        }
      }),
      session.mode === 'link'
        ? button('Change the client ID or secret', () => showForm(vendor, 'retry', 'form'), true)
        : null,
    ].filter(Boolean);
    if (session.returnTo) actions.push(button(returnLabel(), finish, true));
    show(key, 'Install the app', [
      para(
        'Next, an admin of your ' +
          vendor.name +
          ' account allows the install on its consent page (who may: see the last setup step). The consent page then sends you back here.',
      ),
      p.outcome === 'install_required' && p.message ? para(p.message, 'muted') : null,
      el('div', { class: 'actions' }, actions),
    ]);
  }

  let installReturn = { install: null, reason: null };
  function installProblem() {
    if (installReturn.install !== 'failed') return '';
    const reasons = {
      state_expired: 'The install took longer than 10 minutes. Open the consent page again.',
      state_used: 'That install already came back once. Open the consent page again.',
    };
    return (
      reasons[installReturn.reason] || 'The install could not be completed. Open the consent page again.'
    );
  }

  function openConsentPage(vendor, url) {
    show('leaving', 'Opening the consent page…', [para('You will come back here when it is done.')]);
    location.assign(url);
  }

  function showConnected(vendor, key) {
    setAlert('');
    const nodes = [
      el('div', { class: 'success' }, [
        para(
          vendor.name +
            ' is connected' +
            (session.connection ? ' (' + session.connection.instanceUrl + ').' : '.'),
        ),
      ]),
    ];
    if (session.returnTo)
      nodes.push(el('div', { class: 'actions' }, [button('Continue to ' + session.returnTo.host, finish)]));
    else {
      nodes.push(para('You can close this page.'));
      finish();
    }
    show(key, 'Connected', nodes);
    announce('Connected.');
  }

  function showClosed(p, key) {
    setAlert('');
    const text =
      p.outcome === 'paused'
        ? 'The connection is paused by the application, so it cannot be changed here.'
        : p.outcome === 'revoked'
          ? 'The connection was removed, so it cannot be changed here.'
          : p.message || 'Nothing more can be done here.';
    show(key, 'Nothing to do here', [
      para(text),
      session.returnTo ? el('div', { class: 'actions' }, [button(returnLabel(), finish)]) : null,
    ]);
  }

  function showFatal(heading, text) {
    stopPolling();
    setAlert('');
    show('fatal', heading, [para(text)]);
  }

  function fail(error) {
    stopPolling();
    const messages = {
      session_expired: ['This link has expired', 'Ask the application that sent you here for a new link.'],
      session_completed: [
        'This link was already used',
        'Ask the application that sent you here for a new link.',
      ],
      session_invalid: [
        'This link is not valid',
        'Open the link the application gave you again, or ask it for a new one.',
      ],
    };
    if (messages[error.code]) {
      tabStorage.removeItem(storageKey);
      return showFatal(...messages[error.code]);
    }
    if (error.status === 429) return setAlert('Too many requests at once. Wait a moment, then try again.');
    setAlert('Something went wrong: ' + error.message + '. Try again in a moment.');
  }

  // ---- the end ----------------------------------------------------------------------------------

  async function finish() {
    if (finishing) return;
    finishing = true;
    stopPolling();
    try {
      const result = await call('POST', '/finish');
      tabStorage.removeItem(storageKey);
      const embedder =
        window.opener && !window.opener.closed
          ? window.opener
          : window.parent !== window
            ? window.parent
            : null;
      if (result.targetOrigin && embedder) {
        // Only the return URL's origin receives the result; any other page around this one gets nothing.
        embedder.postMessage(result.message, result.targetOrigin);
        show('done', 'All done', [para('You can close this window.')]);
        if (window.opener) window.close();
        return;
      }
      if (result.redirectUrl) {
        show('done', 'Returning…', [para('Taking you back to ' + session.returnTo.host + '.')]);
        location.assign(result.redirectUrl);
        return;
      }
      if (shownKey && !shownKey.startsWith('active'))
        show('done', 'All done', [para('You can close this page.')]);
    } catch (error) {
      finishing = false;
      fail(error);
    }
  }

  // ---- start ------------------------------------------------------------------------------------

  async function start() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const query = new URLSearchParams(location.search);
    if (fragment.get('token')) tabStorage.setItem(storageKey, fragment.get('token'));
    installReturn = { install: query.get('install'), reason: query.get('reason') };
    // Out of the address bar (and of links copied from it) at once; kept in this tab only, for the trip
    // through the vendor's consent page.
    if (location.hash || location.search) history.replaceState(null, '', location.pathname);
    token = tabStorage.getItem(storageKey);
    if (!token)
      return showFatal(
        'This link is not valid',
        'Open the link the application gave you again, or ask it for a new one.',
      );
    try {
      session = await call('GET', '/session');
      route(false);
    } catch (error) {
      fail(error);
    }
  }

  start();
})();
